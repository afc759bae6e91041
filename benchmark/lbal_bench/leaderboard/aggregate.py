"""Records → the board: one row per (dataset, backbone, evaluator, metric, method, budget)
with mean ± std over seeds, the best method per budget and the paper's number; plus the
mean of vector metrics (class histograms) and where each row came from."""

from __future__ import annotations

import numbers
from typing import Iterator

import numpy as np
import pandas as pd

from ..store import Record
from .reference import PAPER_COLUMNS, compare, paper_reference

TABLE_KEYS = ["dataset", "backbone", "evaluator", "metric"]
ROW_KEYS = ["dataset", "backbone", "evaluator", "method", "uses_labels", "budget"]
COLUMNS = [*TABLE_KEYS, "method", "uses_labels", "budget", "mean", "std", "seeds", "best", *PAPER_COLUMNS]
LABEL_MARK = "†"


def heading(keys: tuple) -> str:
    """A table's name: ``dataset · backbone · evaluator [metric]`` (metric only when it differs)."""
    dataset, backbone, evaluator, metric = keys
    return " · ".join([dataset, backbone, evaluator if metric == evaluator else f"{evaluator} {metric}"])


def method_label(method: str, uses_labels: bool) -> str:
    """A method's name, with the mark of methods that read labels."""
    return f"{method} {LABEL_MARK}" if uses_labels else method


def _row(record: Record) -> dict:
    d = record.display
    return {
        "dataset": d["dataset"],
        "backbone": d["backbone"],
        "evaluator": d["evaluator"],
        "method": d["sampler"],
        "uses_labels": record.uses_labels,
        "budget": int(record.config["budget"]),
    }


def records_frame(records: list[Record]) -> pd.DataFrame:
    """One row per (record, scalar metric); ``headline`` marks each record's first scalar metric."""
    rows = []
    for record in records:
        scalars = [(m, v) for m, v in record.metrics.items() if isinstance(v, numbers.Real)]
        for position, (metric, value) in enumerate(scalars):
            rows.append({**_row(record), "seed": int(record.config["seed"]), "metric": metric,
                         "value": float(value), "headline": position == 0})
    return pd.DataFrame(rows, columns=[*ROW_KEYS, "seed", "metric", "value", "headline"])


def _best(table: pd.DataFrame) -> pd.Series:
    """Rows whose mean (as displayed, one decimal) is the highest at their budget among the
    methods that do not read labels."""
    shown = table["mean"].round(1).where(~table["uses_labels"].astype(bool))
    return shown == shown.groupby([table[k] for k in [*TABLE_KEYS, "budget"]]).transform("max")


def aggregate(records: list[Record], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """The board: mean and population std (ddof=0) over seeds, the best non-label-using
    method per budget, and the paper's value (``reference``, default the shipped tables)."""
    frame = records_frame(records)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    table = (
        frame.groupby([*TABLE_KEYS, "method", "uses_labels", "budget"], sort=True)
        .agg(mean=("value", "mean"), std=("value", lambda v: float(v.std(ddof=0))),
             seeds=("value", "count"), headline=("headline", "any"))
        .reset_index()
    )
    table = table.assign(best=_best(table), headline=table["headline"].astype(bool))
    return compare(table, paper_reference() if reference is None else reference)[COLUMNS]


def tables(board: pd.DataFrame) -> Iterator[tuple[tuple, pd.DataFrame, int]]:
    """``(keys, rows, seeds)`` per table of the board, in display order; ``seeds`` is the
    most seeds any cell of the table has."""
    for keys, table in board.groupby(TABLE_KEYS, sort=True):
        yield keys, table, int(table["seeds"].max())


def method_rows(table: pd.DataFrame) -> Iterator[tuple[str, bool, dict[int, pd.Series]]]:
    """``(method, uses_labels, {budget: board row})`` per method of one table, by name."""
    for (method, uses_labels), rows in table.groupby(["method", "uses_labels"], sort=True):
        yield method, bool(uses_labels), {int(row["budget"]): row for _, row in rows.iterrows()}


def histograms(records: list[Record]) -> list[dict]:
    """The mean over seeds of every vector metric (such as a class histogram: how many
    classes have 0, 1, 2, … labels), one entry per (row keys, metric)."""
    groups: dict[tuple, list[list[float]]] = {}
    for record in records:
        for metric, value in record.metrics.items():
            if isinstance(value, list):
                groups.setdefault((*_row(record).values(), metric), []).append(value)
    entries = []
    for key in sorted(groups):
        vectors = groups[key]
        width = max(map(len, vectors))
        mean = np.mean([np.pad(np.asarray(v, dtype=float), (0, width - len(v))) for v in vectors], axis=0)
        entries.append({**dict(zip([*ROW_KEYS, "metric"], key)), "seeds": len(vectors),
                        "mean": [round(float(x), 4) for x in mean]})
    return entries


def histogram_tables(entries: list[dict]) -> dict[tuple, list[dict]]:
    """``histograms`` entries grouped by table keys (dataset, backbone, evaluator, metric), sorted."""
    groups: dict[tuple, list[dict]] = {}
    for entry in entries:
        groups.setdefault(tuple(entry[k] for k in TABLE_KEYS), []).append(entry)
    return dict(sorted(groups.items()))


def provenance(records: list[Record]) -> list[dict]:
    """Where each method row of each table came from: lbal-bench and plugin versions, git
    revisions, machines and the dates of its records."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        row = _row(record)
        key = (row["dataset"], row["backbone"], row["evaluator"], row["method"])
        groups.setdefault(key, []).append(record.provenance)
    entries = []
    for key in sorted(groups):
        found = groups[key]
        created = sorted(p.get("created", "") for p in found)
        entries.append({
            **dict(zip(["dataset", "backbone", "evaluator", "method"], key)),
            "records": len(found),
            "lbal_bench": sorted({p.get("packages", {}).get("lbal-bench", "unknown") for p in found}),
            "plugins": sorted({f"{kind} {p['name']}: {p['distribution']} {p['version']}"
                               for f in found for kind, p in f.get("plugins", {}).items()}),
            "git_revision": sorted({f.get("git_revision") or "unknown" for f in found}),
            "machines": sorted({f"{m.get('node', '?')} ({m.get('platform', '?')})" for f in found
                                for m in [f.get("machine", {})]}),
            "created": [created[0], created[-1]],
        })
    return entries
