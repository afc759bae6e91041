"""The static site: an index of boards and one page per board, rendered from each board
directory (``leaderboard.json`` and ``plots/``). Boards without rows are left out, and a
board whose title another board has too is listed with its directory's name.

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
from .aggregate import (AUBC_COLUMNS, COLUMNS, PROVENANCE_KEYS, UNKNOWN, heading, histogram_tables, method_label,
                        method_rows, rank_heading, rankings, seeds_text, shows_options, tables)
from .plots import plot_stem
from .render import (HISTOGRAM_NOTE, LEGEND, MISSING, aubc_text, cell_text, mean_rank_text, paper_text, rank_text,
                     replace_directory, summary_rows)

FIELDS = ("title", "rows", "histograms", "provenance", "aubc")


def page_environment(package: str) -> Environment:
    """The jinja2 environment of lbal-bench's HTML pages: templates of ``package``,
    autoescaped, strict about undefined names."""
    return Environment(loader=PackageLoader(package), autoescape=True, trim_blocks=True, lstrip_blocks=True,
                       undefined=StrictUndefined)


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    """Rows of a board document as a frame; fields a board written by an older lbal-bench
    lacks (a row's start and options) read as ``unknown``."""
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("start", "options"):
        frame[column] = frame[column].fillna(UNKNOWN)
    if "rank_start" in frame:
        frame["rank_start"] = frame["rank_start"].fillna(frame["start"])
    return frame


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


def _aubc_cell(row: pd.Series | None, seeds: int) -> dict:
    missing = row is None or pd.isna(row["aubc"])
    return {"text": aubc_text(row, seeds), "sort": "" if missing else f"{row['aubc']:.4f}",
            "best": not missing and bool(row["best"])}


def _variant(method: str, uses_labels: bool, start: str, options: str) -> dict:
    return {"method": method, "label": method_label(method, uses_labels), "uses_labels": uses_labels,
            "start": start, "options": options}


def _tables(document: dict, directory: Path) -> list[dict]:
    """What the page template shows of each table of a board."""
    board = _frame(document["rows"], COLUMNS)
    summary = _frame(document["aubc"], AUBC_COLUMNS)
    origin = {tuple(p.get(k, UNKNOWN) for k in PROVENANCE_KEYS): p for p in document["provenance"]}
    views = []
    for keys, table, seeds in tables(board):
        budgets = sorted(table["budget"].unique().tolist())
        areas = summary_rows(summary, keys)
        rows = []
        for variant, by_budget in method_rows(table):
            method, _, start, options = variant
            rows.append({
                **_variant(*variant),
                "cells": [_cell(by_budget[b], seeds) if b in by_budget else None for b in budgets],
                "aubc": _aubc_cell(areas.get(variant), seeds),
                "provenance": origin.get((*keys[:3], method, start, options)),
            })
        stem = plot_stem(keys)
        views.append({"id": stem, "heading": heading(keys), "seeds": seeds_text(seeds), "budgets": budgets,
                      "rows": rows, "options": shows_options(table),
                      "plot": stem if (directory / "plots" / f"{stem}.svg").exists() else None})
    return views


def _rankings(document: dict) -> list[dict]:
    """What the page template shows of each ranking (backbone × evaluator × metric)."""
    summary = _frame(document["aubc"], AUBC_COLUMNS)
    views = []
    for keys, datasets, variants in rankings(summary):
        rows = []
        for variant, by_dataset in variants:
            first = next(iter(by_dataset.values()))
            rows.append({
                **_variant(*variant),
                "cells": [{"text": rank_text(by_dataset[d]), "sort": "" if pd.isna(by_dataset[d]["rank"])
                           else f"{by_dataset[d]['rank']:g}"} if d in by_dataset else None for d in datasets],
                "mean_rank": {"text": mean_rank_text(first), "sort": "" if pd.isna(first["mean_rank"])
                              else f"{first['mean_rank']:.4f}"},
            })
        views.append({"id": "ranking-" + plot_stem(keys), "heading": f"Ranking: {rank_heading(keys)}",
                      "datasets": datasets, "rows": rows,
                      "options": any(row["options"] != "default" for row in rows)})
    return views


def _summary(name: str, document: dict, titles: dict[str, int]) -> dict:
    rows = document["rows"]
    title = str(document["title"])
    return {
        "name": name,
        "title": title if titles[title] == 1 and name == title else f"{title} ({name})",
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
    directories = sorted(p.parent for p in Path(boards_root).glob("*/leaderboard.json")
                         if not p.parent.name.startswith("."))  # hidden: a board being written
    if not directories:
        raise LbalError(f"{boards_root}: no boards (*/leaderboard.json) to publish")
    site = Path(site)
    environment = page_environment("lbal_bench.leaderboard")
    documents = {directory: load_board(directory) for directory in directories}
    documents = {directory: document for directory, document in documents.items() if document["rows"]}
    if not documents:
        raise LbalError(f"{boards_root}: every board is empty (no rows); nothing to publish")
    titles: dict[str, int] = {}
    for document in documents.values():
        titles[str(document["title"])] = titles.get(str(document["title"]), 0) + 1
    summaries = []
    for directory, document in documents.items():
        target = site / directory.name
        page = environment.get_template("board.html.j2").render(
            title=document["title"], legend=LEGEND, tables=_tables(document, directory), version=__version__,
            rankings=_rankings(document), histogram_note=HISTOGRAM_NOTE, missing=MISSING,
            histograms=[{"id": plot_stem(keys), "heading": heading(keys)}
                        for keys in histogram_tables(document["histograms"])],
        )
        if target.resolve() == directory.resolve():  # the site is the boards' own folder
            atomic_write_text(target / "index.html", page)
        else:  # a copy of the board and its page, swapped in whole: no plot of an older board stays
            replace_directory(target, lambda staging: (shutil.copytree(directory, staging, dirs_exist_ok=True),
                                                       atomic_write_text(staging / "index.html", page)),
                              keep_foreign=False)
        summaries.append(_summary(directory.name, document, titles))
    index = site / "index.html"
    atomic_write_text(index, environment.get_template("index.html.j2").render(boards=summaries, version=__version__))
    return index
