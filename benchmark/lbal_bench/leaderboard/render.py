"""Render an aggregated leaderboard as Markdown (one table per dataset × backbone ×
evaluator × metric; methods as rows, budgets as columns), CSV and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write_text
from .aggregate import TABLE_KEYS

LABEL_MARK = "†"


def _cell(row: pd.Series, seeds: int) -> str:
    text = f"{row['mean']:.1f} ± {row['std']:.1f}"
    return text if row["seeds"] == seeds else f"{text} (n={row['seeds']})"


def markdown(board: pd.DataFrame, title: str) -> str:
    """The leaderboard as a Markdown document."""
    lines = [
        f"# lbal-bench leaderboard: {title}",
        "",
        "Mean ± std over seeds, in percent. Methods are rows, label budgets are columns.",
        f"{LABEL_MARK} marks methods that read the pool's labels to select (not comparable as active learning).",
        "",
    ]
    for keys, table in board.groupby(TABLE_KEYS, sort=True):
        dataset, backbone, evaluator, metric = keys
        seeds = int(table["seeds"].max())
        heading = " · ".join([dataset, backbone, evaluator if metric == evaluator else f"{evaluator} {metric}"])
        lines += [f"## {heading}", "", f"{seeds} seeds per cell.", ""]
        table = table.assign(
            method=table["method"] + table["uses_labels"].map({True: f" {LABEL_MARK}", False: ""}),
            text=table.apply(_cell, axis=1, seeds=seeds),
        )
        wide = table.pivot(index="method", columns="budget", values="text").fillna("—")
        wide.columns = [str(c) for c in wide.columns]
        lines += [wide.to_markdown(colalign=["left"] + ["right"] * len(wide.columns)), ""]
    return "\n".join(lines)


def write_leaderboard(board: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` and ``leaderboard.json`` into ``out``."""
    out = Path(out)
    paths = {name: out / f"leaderboard.{name}" for name in ("md", "csv", "json")}
    atomic_write_text(paths["md"], markdown(board, title))
    atomic_write_text(paths["csv"], board.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(
        paths["json"],
        json.dumps({"title": title, "rows": json.loads(board.to_json(orient="records", double_precision=4))}, indent=1)
        + "\n",
    )
    return list(paths.values())
