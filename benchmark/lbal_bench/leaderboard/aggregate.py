"""Records → one row per (dataset, backbone, evaluator, metric, method, budget) with
mean ± std over seeds."""

from __future__ import annotations

import numbers

import pandas as pd

from ..store import Record

COLUMNS = ["dataset", "backbone", "evaluator", "metric", "method", "uses_labels", "budget", "mean", "std", "seeds"]
TABLE_KEYS = ["dataset", "backbone", "evaluator", "metric"]


def records_frame(records: list[Record]) -> pd.DataFrame:
    """One row per (record, scalar metric)."""
    rows = [
        {
            "dataset": r.display["dataset"],
            "backbone": r.display["backbone"],
            "evaluator": r.display["evaluator"],
            "method": r.display["sampler"],
            "uses_labels": r.uses_labels,
            "budget": int(r.config["budget"]),
            "seed": int(r.config["seed"]),
            "metric": metric,
            "value": float(value),
        }
        for r in records
        for metric, value in r.metrics.items()
        if isinstance(value, numbers.Real)
    ]
    return pd.DataFrame(rows, columns=[*TABLE_KEYS[:3], "method", "uses_labels", "budget", "seed", "metric", "value"])


def aggregate(records: list[Record]) -> pd.DataFrame:
    """Mean and population std (numpy's default, ddof=0) over seeds, sorted for display."""
    frame = records_frame(records)
    grouped = frame.groupby([*TABLE_KEYS, "method", "uses_labels", "budget"], sort=True)["value"]
    table = grouped.agg(mean="mean", std=lambda v: float(v.std(ddof=0)), seeds="count").reset_index()
    return table[COLUMNS]
