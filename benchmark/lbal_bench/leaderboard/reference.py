"""The paper's published numbers, shipped as package data, and their place on the board.

``lbal_bench/reference/paper_tables.csv`` has the columns table, dataset, backbone,
metric, method, budget, budget_percent, mean, std, note. ``metric`` names the paper's
evaluation protocol (linear, knn, coverage, fixmatch, finetune). A board row matches a
paper row when its evaluator is called like that protocol, its metric is the evaluator's
headline metric (the first one the evaluator reports), and dataset, backbone, method and
budget (an absolute count) agree.

Several tables may give the same key. Rows whose note says that selection and
classification used different backbones (Table 13's ablation) are left out, since a cell
of ours uses one backbone for both. Of the rest the lowest-numbered table wins: the main
paper's tables come before the appendix's variants (other initial pools, other
backbones), and the board names the table its number comes from.

The paper's methods are the methods its tables name (``paper_methods``): the board tells
them apart from later methods by data, never by a list of plugin names in the code.
"""

from __future__ import annotations

import functools
from importlib.resources import files

import pandas as pd

from ..errors import LbalError

COLUMNS = ["table", "dataset", "backbone", "metric", "method", "budget", "budget_percent", "mean", "std", "note"]
KEYS = ["dataset", "backbone", "metric", "method", "budget"]
PAPER_COLUMNS = ["paper_mean", "paper_std", "paper_diff", "paper_table", "paper_note"]


def main_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """One row per key of a paper table frame, chosen as the module docstring says."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise LbalError(f"{source}: missing column(s) {', '.join(missing)}")
    frame = frame.assign(note=frame["note"].fillna(""), table=frame["table"].astype(str))
    number = pd.to_numeric(frame["table"].str.extract(r"^(\d+)", expand=False), errors="coerce")
    if number.isna().any():
        raise LbalError(f"{source}: table '{frame['table'][number.isna()].iloc[0]}' does not start with a number")
    backbones = frame["note"].str.extract(r"selection=(\w+);classification=(\w+)")
    crossed = backbones[0].notna() & (backbones[0] != backbones[1])
    ranked = frame.assign(_number=number)[~crossed].sort_values([*KEYS, "_number", "table"], kind="stable")
    return ranked.drop_duplicates(KEYS).drop(columns="_number").reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def paper_reference() -> pd.DataFrame:
    """The paper's numbers, one row per (dataset, backbone, metric, method, budget)."""
    source = files("lbal_bench") / "reference" / "paper_tables.csv"
    with source.open("rb") as handle:
        frame = pd.read_csv(handle, dtype={"table": str, "note": str})
    return main_rows(frame, str(source))


def paper_methods(reference: pd.DataFrame) -> frozenset[str]:
    """The methods (sampler plugin names) that a paper reference frame has numbers for."""
    return frozenset(str(m) for m in reference["method"].dropna().unique())


def compare(board: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """``board`` (with a boolean ``headline`` column) plus the paper's mean, std, table and
    note and our difference to it (ours − paper) where a row matches; NaN elsewhere."""
    paper = reference.rename(columns={
        "metric": "evaluator", "mean": "paper_mean", "std": "paper_std", "table": "paper_table", "note": "paper_note",
    })[["dataset", "backbone", "evaluator", "method", "budget", "paper_mean", "paper_std", "paper_table", "paper_note"]]
    merged = board.merge(paper, how="left", on=["dataset", "backbone", "evaluator", "method", "budget"], validate="m:1")
    merged.loc[~merged["headline"], ["paper_mean", "paper_std", "paper_table", "paper_note"]] = None
    return merged.assign(paper_diff=merged["mean"] - merged["paper_mean"])
