"""Running a sampler once: the pool and its oracle, the call, and the check of the answer.

The runner (every selection of a suite) and ``lbal-bench select`` go through
:func:`run_sampler`, so a sampler sees the same pool, gets the same generator and is held
to the same contract (``contracts.selection_problem``) in both. The conformance checks
(``lbal_bench.testing``, ``lbal-bench check``) call ``select`` on the sampler object
themselves, since a third party runs them on a bare instance (``MySampler()``) and they
look at the raw answer, but judge it by the same ``contracts.selection_problems``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .contracts import LabelOracle, Pool, selection_problem
from .errors import LbalError
from .plugin_handle import Plugin, plugin_call


@dataclass(frozen=True)
class Picks:
    """A sampler's checked answer: the new ``indices`` (int64), how many labels its oracle
    handed out, the seconds ``select`` took and what it said of its choice (``Pool.info``)."""

    indices: np.ndarray
    labels_seen: int
    seconds: float
    info: dict


def run_sampler(sampler: Plugin, features: np.ndarray, labels: np.ndarray, labeled: np.ndarray, num_classes: int,
                budget: int, rng: np.random.Generator, revealed: np.ndarray | None = None) -> Picks:
    """``budget`` new picks of ``sampler`` on top of ``labeled``. Its oracle reveals the
    labels of ``revealed`` (default: ``labeled``), or every label when the sampler
    declares ``uses_labels``; a failure or a bad answer is an ``LbalError`` naming the plugin."""
    labeled = np.asarray(labeled, dtype=np.int64)
    oracle = LabelOracle(labels, labeled if revealed is None else revealed, reveal_all=sampler.flag("uses_labels"))
    pool = Pool(features=features, labeled=labeled, num_classes=num_classes, oracle=oracle)
    start = time.perf_counter()
    raw = plugin_call(sampler, "select", lambda: sampler.obj.select(pool, budget, rng))
    seconds = time.perf_counter() - start
    return Picks(check_selection(sampler, raw, budget, pool), oracle.requests(), seconds, dict(pool.info))


def check_selection(plugin: Plugin, indices, budget: int, pool: Pool) -> np.ndarray:
    """The sampler's answer as int64 indices, or an error naming the plugin and the fault."""
    problem = selection_problem(indices, budget, pool)
    if problem:
        raise LbalError(f"sampler '{plugin.spec.name}' ({plugin.info.distribution}) {problem}")
    return np.asarray(indices).astype(np.int64)
