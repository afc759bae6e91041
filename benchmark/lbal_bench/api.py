"""The Python API: what the CLI's ``run`` does, the results as a table, and one
selection from an array, for notebooks::

    import lbal_bench
    result = lbal_bench.run("suites/digits.yaml", out="results/digits")  # same records as the CLI
    board = lbal_bench.load_results("results/digits")                     # a DataFrame, one row per cell
    picks = lbal_bench.select(features, budget=100, sampler="kmeans", seed=0)

The CLI commands call these functions and print (asv's ``Command.run`` habit); bad input
raises ``LbalError`` with the same one line the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .cells import Cell, build_grid, expand, select_cells
from .errors import LbalError
from .features import FeatureCache, l2_normalise
from .plugin_handle import build_plugin
from .plugins import get_registry
from .labeling import SAMPLER, Labeled, select_points
from .runner import RunSummary, Runner
from .store import Record, ResultStore, merge_results
from .suite import Suite, load_suite


@dataclass
class RunResult:
    """What :func:`run` did: counts, the suite's records (finished before or now), and
    where the leaderboard went (``board`` None when it was not written)."""

    summary: RunSummary
    records: list[Record]
    results: Path
    board: Path | None = None
    board_files: list[Path] = field(default_factory=list)

    def frame(self):
        """The records as :func:`load_results` returns them."""
        return records_frame(self.records)


def plan(suite: str | Path | Suite, only: Sequence[str] = ()) -> tuple[Suite, list[Cell], list[Cell]]:
    """The suite, all its cells, and those ``only`` keeps (``KEY=VALUE`` filters)."""
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    cells = expand(build_grid(suite, get_registry()))
    return suite, cells, select_cells(cells, list(only))


def run(suite: str | Path | Suite, out: str | Path | None = None, *, board: str | Path | None = None,
        write_board: bool = True, cache_dir: str | Path | None = None, only: Sequence[str] = (),
        executor: Any = None, progress: Any = None, on_problem: Any = None) -> RunResult:
    """Compute every cell of ``suite`` (a YAML file or a loaded ``Suite``) that has no record
    in ``out`` (default ``results/<suite name>``), then write its leaderboard to ``board``
    (default ``leaderboard/<suite name>``) unless ``write_board`` is False. ``executor`` is
    an executor object (default: this process); ``progress`` a rich ``Progress``;
    ``on_problem(line)`` is called with each problem (a corrupt record or selection set
    aside and recomputed) as soon as it is known, even if the run then fails (they are
    in ``summary.problems`` too)."""
    from .leaderboard import write_leaderboard

    suite, cells, chosen = plan(suite, only)
    store = ResultStore(Path(out) if out is not None else Path("results") / suite.name)
    summary = Runner(store, FeatureCache(cache_dir), progress, suite.name, executor, on_problem).run(chosen)
    records = [r for c in cells if (r := store.load(c.fingerprint)[0]) is not None]
    result = RunResult(summary, records, store.root)
    if write_board:
        result.board = Path(board) if board is not None else Path("leaderboard") / suite.name
        result.board_files = write_leaderboard(records, result.board, suite.name)
    return result


def load_results(*roots: str | Path):
    """The sound records of one or more results directories as a pandas DataFrame, one row
    per cell: names, ``start``, ``seed``, ``budget``, ``uses_labels``, one column per scalar
    metric (``knn.top1`` style names are not used: metrics keep their own names, and the
    ``evaluator`` column says whose they are), ``fingerprint`` and ``selection_file``.
    Corrupt records are left out (as the leaderboard leaves them out)."""
    if not roots:
        raise LbalError("load_results: give at least one results directory")
    records, _problems = merge_results([Path(r) for r in roots])
    return records_frame(records)


def records_frame(records: Sequence[Record]):
    """Records as a DataFrame (see :func:`load_results`)."""
    import pandas as pd

    rows = []
    for record in records:
        display = record.display
        row = {key: display.get(key) for key in ("dataset", "backbone", "sampler", "evaluator")}
        row.update(start=display.get("start"), seed=record.config.get("seed"), budget=record.config.get("budget"),
                   uses_labels=record.uses_labels)
        row.update({k: v for k, v in record.metrics.items() if isinstance(v, (int, float))})
        row.update(fingerprint=record.fingerprint, selection_file=record.selection.get("file"))
        rows.append(row)
    return pd.DataFrame(rows)


def select(features: np.ndarray, budget: int, sampler: str | None = None, seed: int = 0, *,
           options: dict | None = None, labeled: Sequence[int] = (), labels: Sequence[int] | None = None,
           num_classes: int = 0) -> np.ndarray:
    """``budget`` indices (int64) into ``features`` ([N, D], L2-normalised here as the
    feature cache does) chosen by ``sampler`` (default: the sampler that declares itself
    the default for selection, ``kmeans`` among the reference plugins) with ``options``.
    ``labeled`` are indices already labeled, ``labels`` their labels (in the same order,
    for samplers that read them); the generator is the one a benchmark cell's selection
    gets, so the picks equal the cell's for the same labeled set."""
    registry = get_registry()
    name = sampler or registry.default("sampler", SAMPLER, "sampler=NAME")[0]
    plugin = build_plugin(registry, "sampler", name, dict(options or {}))
    labeled = np.asarray(labeled, dtype=np.int64)
    if labels is not None and len(labels) != len(labeled):
        raise LbalError(f"select: {len(labels)} labels for {len(labeled)} labeled indices")
    if len(np.unique(labeled)) != len(labeled):
        raise LbalError("select: labeled indices repeat")
    order = np.argsort(labeled)
    given = Labeled(labeled[order], None if labels is None else np.asarray(labels, dtype=np.int64)[order], [])
    return select_points(l2_normalise(np.asarray(features, dtype=np.float32)), plugin, budget, seed, given, num_classes)
