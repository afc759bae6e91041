"""Render a board as Markdown (one table per dataset × backbone × evaluator × metric;
methods as rows, budgets as columns, the best method per budget in bold, the paper's value
in a row under each method that has one, the plot below), CSV and JSON; and write a board
directory with its plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd
from tabulate import tabulate

from ..atomic import atomic_write_text, remove_orphans
from ..store import Record
from .aggregate import (LABEL_MARK, aggregate, heading, histogram_tables, histograms, method_label, method_rows,
                        provenance, tables)
from .plots import plot_stem, write_plots

MISSING = "—"
HISTOGRAM_NOTE = "How many classes have 0, 1, 2, … labeled examples (mean over seeds), per budget."
LEGEND = [
    "Mean ± std over seeds, in percent. Methods are rows, label budgets are columns.",
    "Bold: the best method at each budget among those that do not read labels.",
    f"{LABEL_MARK} marks methods that read the pool's labels to select (not comparable as active learning).",
    "paper: the value published in the paper for the same dataset, backbone, evaluation, method and budget, "
    "with our difference to it (Δ = ours − paper) and the paper's table.",
]


def mean_std(mean: float, std: float) -> str:
    """``72.1 ± 2.2``, or ``72.1`` when there is no std."""
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"


def cell_text(row: pd.Series, seeds: int) -> str:
    """Our value (bare; the caller highlights the best), with the seed count when it is
    below the table's ``seeds``."""
    text = mean_std(row["mean"], row["std"])
    return text if row["seeds"] == seeds else f"{text} (n={row['seeds']})"


def paper_text(row: pd.Series) -> str:
    """``80.0 ± 0.0 (Δ −7.9, Table 2)`` for a row that matches the paper."""
    diff = f"{row['paper_diff']:+.1f}".replace("-", "−")
    return f"{mean_std(row['paper_mean'], row['paper_std'])} (Δ {diff}, Table {row['paper_table']})"


def _highlighted(row: pd.Series, seeds: int) -> str:
    text = cell_text(row, seeds)
    return f"**{text}**" if row["best"] else text


def _markdown_table(table: pd.DataFrame, seeds: int) -> str:
    budgets = sorted(table["budget"].unique().tolist())
    rows = []
    for method, uses_labels, by_budget in method_rows(table):
        ours = [MISSING if b not in by_budget else _highlighted(by_budget[b], seeds) for b in budgets]
        rows.append([method_label(method, uses_labels), *ours])
        matched = {b: paper_text(row) for b, row in by_budget.items() if pd.notna(row["paper_mean"])}
        if matched:
            rows.append([f"{method_label(method, uses_labels)}: paper", *(matched.get(b, MISSING) for b in budgets)])
    return tabulate(rows, headers=["method", *map(str, budgets)], tablefmt="pipe",
                    colalign=["left"] + ["right"] * len(budgets))


def markdown(board: pd.DataFrame, title: str, histogram_keys: Iterable[tuple] = ()) -> str:
    """The board as a Markdown document, with its plots (``plots/*.svg``) linked."""
    lines = [f"# lbal-bench leaderboard: {title}", "", *LEGEND, ""]
    for keys, table, seeds in tables(board):
        lines += [f"## {heading(keys)}", "", f"{seeds} seeds per cell.", "", _markdown_table(table, seeds), "",
                  f"![{heading(keys)}](plots/{plot_stem(keys)}.svg)", ""]
    for keys in histogram_keys:
        lines += [f"## {heading(keys)}", "", HISTOGRAM_NOTE, "", f"![{heading(keys)}](plots/{plot_stem(keys)}.svg)", ""]
    return "\n".join(lines)


def write_leaderboard(records: list[Record], out: Path, title: str) -> list[Path]:
    """Write a board directory: ``leaderboard.md``, ``leaderboard.csv``, ``leaderboard.json``
    (rows, class histograms, provenance per method row) and ``plots/``."""
    out = Path(out)
    for directory in (out, out / "plots"):
        remove_orphans(directory)  # temp files of a killed earlier write
    board = aggregate(records)
    vectors = histograms(records)
    plots = write_plots(board, vectors, out / "plots")
    paths = {name: out / f"leaderboard.{name}" for name in ("md", "csv", "json")}
    atomic_write_text(paths["md"], markdown(board, title, histogram_tables(vectors)))
    atomic_write_text(paths["csv"], board.to_csv(index=False, float_format="%.4f"))
    document = {
        "title": title,
        "rows": json.loads(board.to_json(orient="records", double_precision=4)),
        "histograms": vectors,
        "provenance": provenance(records),
    }
    atomic_write_text(paths["json"], json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return [*paths.values(), *plots]
