"""The static site: an index of boards and one page per board, rendered from each board
directory (``leaderboard.json`` and ``plots/``).

No server is needed: links are relative and each page carries its CSS and its few lines
of table-sorting JavaScript, so the site works from ``file://`` and from GitHub Pages.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from .. import __version__
from ..atomic import atomic_write_text
from ..errors import LbalError
from .aggregate import COLUMNS, heading, histogram_tables, method_label, method_rows, tables
from .plots import plot_stem
from .render import HISTOGRAM_NOTE, LEGEND, cell_text, paper_text

FIELDS = ("title", "rows", "histograms", "provenance")


def load_board(directory: Path) -> dict:
    """The ``leaderboard.json`` of a board directory, checked for the fields the site needs."""
    path = Path(directory) / "leaderboard.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LbalError(f"{path}: cannot read the board ({exc})") from None
    missing = [field for field in FIELDS if field not in document]
    if missing:
        raise LbalError(f"{path}: no '{missing[0]}' field; rebuild this board with `lbal-bench leaderboard`")
    return document


def _cell(row: pd.Series, seeds: int) -> dict:
    matched = pd.notna(row["paper_mean"])
    return {
        "text": cell_text(row, seeds),
        "sort": f"{row['mean']:.4f}",
        "best": bool(row["best"]),
        "paper": paper_text(row) if matched else None,
        "note": row["paper_note"] if matched and isinstance(row["paper_note"], str) else "",
    }


def _tables(document: dict, directory: Path) -> list[dict]:
    """What the page template shows of each table of a board."""
    board = pd.DataFrame(document["rows"], columns=COLUMNS)
    origin = {(p["dataset"], p["backbone"], p["evaluator"], p["method"]): p for p in document["provenance"]}
    views = []
    for keys, table, seeds in tables(board):
        budgets = sorted(table["budget"].unique().tolist())
        rows = []
        for method, uses_labels, by_budget in method_rows(table):
            rows.append({
                "method": method,
                "label": method_label(method, uses_labels),
                "uses_labels": uses_labels,
                "cells": [_cell(by_budget[b], seeds) if b in by_budget else None for b in budgets],
                "provenance": origin.get((*keys[:3], method)),
            })
        stem = plot_stem(keys)
        views.append({"id": stem, "heading": heading(keys), "seeds": seeds, "budgets": budgets, "rows": rows,
                      "plot": stem if (directory / "plots" / f"{stem}.svg").exists() else None})
    return views


def _summary(name: str, document: dict) -> dict:
    rows = document["rows"]
    return {
        "name": name,
        "title": document["title"],
        "datasets": sorted({r["dataset"] for r in rows}),
        "methods": sorted({r["method"] for r in rows}),
        "evaluators": sorted({r["evaluator"] for r in rows}),
        "records": sum(p["records"] for p in document["provenance"]),
        "updated": max((p["created"][-1] for p in document["provenance"]), default="")[:10],
    }


def write_site(boards_root: Path, site: Path) -> Path:
    """Publish every board under ``boards_root`` (each ``*/leaderboard.json``) as a static
    site in ``site``: ``index.html`` listing the boards, ``<board>/index.html`` per board
    next to a copy of its data and plots. Returns the index page."""
    directories = sorted(p.parent for p in Path(boards_root).glob("*/leaderboard.json"))
    if not directories:
        raise LbalError(f"{boards_root}: no boards (*/leaderboard.json) to publish")
    site = Path(site)
    environment = Environment(loader=PackageLoader("lbal_bench.leaderboard"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    summaries = []
    for directory in directories:
        document = load_board(directory)
        target = site / directory.name
        if target.resolve() != directory.resolve():
            shutil.copytree(directory, target, dirs_exist_ok=True)
        page = environment.get_template("board.html.j2").render(
            title=document["title"], legend=LEGEND, tables=_tables(document, directory), version=__version__,
            histogram_note=HISTOGRAM_NOTE,
            histograms=[{"id": plot_stem(keys), "heading": heading(keys)}
                        for keys in histogram_tables(document["histograms"])],
        )
        atomic_write_text(target / "index.html", page)
        summaries.append(_summary(directory.name, document))
    index = site / "index.html"
    atomic_write_text(index, environment.get_template("index.html.j2").render(boards=summaries, version=__version__))
    return index
