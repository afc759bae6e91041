"""Core-set (k-center greedy) speed: the ``coreset`` sampler against the original code.

The baseline re-implements UCDvision/low-budget-al ``strategies.core_set`` step for step
(the code the paper's Core-set numbers come from): distances of the unlabeled points to
the labeled set with a faiss ``IndexFlatL2``; then, per pick, the argmax, a fresh
``IndexFlatL2`` holding only the new centre searched by the WHOLE unlabeled pool, and a
per-point Python loop ``min_distance[j] = min(min_distance[j], new[j])``. It runs on the
CPU here (the original cloned the index to the GPUs in float16).

Setup: 50,000 × 512 L2-normalised features around 100 random centres
(``clustered_features``), 10 random labeled points, budget 500, at three cluster spreads
(0.2 tight, 0.5, 1.0 loose). The full 500-pick baseline runs once per spread (about 15 s
each); the sampler runs 5 rounds. Both run single-threaded (torch and faiss pinned to one
thread): the machine is shared, and OpenMP threads spinning on busy cores slow both
codes by 10× and more at random, which one thread avoids; it compares the algorithms
like for like.

The picks are checked against the original's: the same points, in the same order except
adjacent swaps of two points whose min-distances (recomputed in float64) differ by less
than ``TIE``. Both codes compute ``|x|² + |c|² - 2 x·c`` in float32, which rounds by
about 1e-6 here, so points that close may come out in either order. The speed-up
(original time / sampler median) must be at least 5.

Run: ``pytest benchmarks/bench_coreset.py --benchmark-only -q``; results in RESULTS.md.
"""

from __future__ import annotations

import functools

import faiss
import numpy as np
import pytest
from conftest import clustered_features, one_thread

from lbal_bench import LabelOracle, Pool
from lbal_bench.plugins import get_registry

N, DIM, CLUSTERS, LABELED, BUDGET = 50_000, 512, 100, 10, 500
SPREADS = (0.2, 0.5, 1.0)
TIE = 1e-5  # squared distance; float32 rounding gaps observed at swaps: <= 1.1e-6
SPEEDUP = 5.0

_original: dict[float, tuple[np.ndarray, float]] = {}  # spread -> (picks, seconds)


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    with one_thread():
        yield


@functools.lru_cache(maxsize=1)
def case(spread: float) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labeled)`` for one spread."""
    features, _ = clustered_features(N, DIM, CLUSTERS, spread=spread, seed=0)
    labeled = np.sort(np.random.default_rng(1).choice(N, LABELED, replace=False))
    return features, labeled


def original_core_set(unlabeled_emb: np.ndarray, labeled_emb: np.ndarray, unlabeled_indices: np.ndarray, budget: int) -> np.ndarray:
    """The original ``core_set`` (UCDvision/low-budget-al), on the CPU, without progress bars."""
    candidates = np.ones(budget, dtype=np.int32) * -1
    n, dim = unlabeled_emb.shape
    index = faiss.IndexFlatL2(dim)
    index.add(labeled_emb)
    min_distance, _ = index.search(unlabeled_emb, 1)
    min_distance = np.array(min_distance[:, 0])
    for i in range(budget):
        candidate = min_distance.argmax()
        assert unlabeled_indices[candidate] not in candidates, "duplicate selection"
        candidates[i] = unlabeled_indices[candidate]
        index = faiss.IndexFlatL2(dim)
        index.add(unlabeled_emb[candidate].reshape(1, -1))
        new_min_distance, _ = index.search(unlabeled_emb, 1)
        new_min_distance = np.array(new_min_distance[:, 0])
        for j in range(n):
            min_distance[j] = min(min_distance[j], new_min_distance[j])
        assert "%0.2f" % min_distance[candidate] == "0.00", "%0.2f" % min_distance[candidate]
    return candidates


def swapped_ties(original: np.ndarray, ours: np.ndarray, features: np.ndarray, labeled: np.ndarray) -> list[float]:
    """Assert ``ours`` is ``original`` but for adjacent swaps of tied points; return the
    float64 gaps between the squared min-distances of each swapped pair."""
    gaps = []
    differ = list(np.flatnonzero(original != ours))
    while differ:
        i = differ.pop(0)
        assert differ and differ.pop(0) == i + 1 and original[i] == ours[i + 1] and original[i + 1] == ours[i], (
            f"pick {i} differs from the original's beyond a swap of two neighbours")
        centres = features[np.concatenate([labeled, original[:i]])].astype(np.float64)
        a, b = (((centres - features[j]) ** 2).sum(axis=1).min() for j in (original[i], ours[i]))
        assert abs(a - b) < TIE, f"pick {i}: swapped points are not tied ({a} vs {b})"
        gaps.append(float(abs(a - b)))
    return gaps


@pytest.mark.parametrize("spread, method", [(s, m) for s in SPREADS for m in ("original", "coreset")])
def test_coreset_speed(benchmark, spread, method):
    features, labeled = case(spread)
    benchmark.group = f"coreset {N} x {DIM}, {CLUSTERS} clusters, spread {spread}, {LABELED} labeled, budget {BUDGET}"
    if method == "original":
        unlabeled = np.setdiff1d(np.arange(N), labeled)
        picks = benchmark.pedantic(
            original_core_set, args=(features[unlabeled], features[labeled], unlabeled, BUDGET), rounds=1, iterations=1)
        _original[spread] = (picks.astype(np.int64), benchmark.stats.stats.min)
        return

    pool = Pool(features, labeled, CLUSTERS, LabelOracle(np.zeros(N, dtype=np.int64), labeled))
    sampler = get_registry().create("sampler", "coreset", {})
    picks = benchmark.pedantic(
        sampler.select, setup=lambda: ((pool, BUDGET, np.random.default_rng(0)), {}), rounds=5, iterations=1)
    if spread not in _original:
        pytest.skip("the original did not run in this session: no comparison")
    original, seconds = _original[spread]
    gaps = swapped_ties(original, picks, features, labeled)
    speedup = seconds / benchmark.stats.stats.median
    benchmark.extra_info.update(original_s=seconds, speedup=round(speedup, 1), swapped_ties=len(gaps),
                                largest_tie_gap=max(gaps, default=0.0))
    print(f"\nspread {spread}: original {seconds:.2f} s, coreset {benchmark.stats.stats.median:.3f} s (median), "
          f"speed-up {speedup:.1f}x, {len(gaps)} swapped ties (largest gap {max(gaps, default=0.0):.1e})")
    assert speedup >= SPEEDUP
