"""Reference samplers against re-statements of their papers' algorithms, on real data.

For each of ``coreset``, ``typiclust``, ``probcover``, ``maxherding`` and ``activeft``,
the sampler (built through the registry with its defaults, called as the runner calls
it) and the brute-force re-statement of its paper's algorithm from
``tests/test_reference_algorithms.py`` select from zero labels on the same features at
equal settings:

- features: scikit-learn's digits as the ``digits`` dataset plugin splits them (1,347
  pool / 450 test images), raw pixels, L2-normalised;
- budgets 10, 20 and 50, each selected from zero labels in one step; seeds 0, 1, 2;
- equal settings: Core-set's re-statement starts from the sampler's (random) first centre;
  ProbCover's uses the δ the sampler chose (its ``pool.info["delta"]``); ActiveFT's starts
  its centroids at the points the sampler's generator draws; TypiClust's clusters with
  scikit-learn ``KMeans(random_state=seed)`` as the reference code does (the sampler uses
  its own K-means options, so this row measures the clustering difference too; the
  ``typiclust (backend sklearn)`` row uses the reference's clustering on our side);
  MaxHerding both with ``h = 1``.

Reported per method and budget (mean over seeds): pick overlap (% of the sampler's
picks the re-statement also picks), coverage (% of the 10 classes with a pick) and 1-NN
accuracy (cosine, on the test split) of each, and the time of each selection. torch and
faiss run on one thread.

Run: ``pytest benchmarks/bench_reference.py --benchmark-only -q -s``; the table is
printed at the end and kept in RESULTS.md ("Reference samplers").
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import one_thread

from lbal_bench import LabelOracle, Pool
from lbal_bench.plugins import get_registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_reference_algorithms as ref  # noqa: E402  the re-statements live beside their tests

SEEDS, BUDGETS = (0, 1, 2), (10, 20, 50)
METHODS = {  # row -> (sampler, options)
    "coreset": ("coreset", {}),
    "typiclust": ("typiclust", {}),
    "typiclust (backend sklearn)": ("typiclust", {"backend": "sklearn"}),
    "probcover": ("probcover", {}),
    "maxherding": ("maxherding", {}),
    "activeft": ("activeft", {}),
}
_results: dict[str, dict[tuple[int, int], dict]] = {}  # row -> (seed, budget) -> results


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module", autouse=True)
def print_summary():
    yield
    if _results:
        print(summary())


@functools.lru_cache(maxsize=1)
def digits():
    """``(pool features, pool labels, test features, test labels)``, L2-normalised pixels."""
    dataset = get_registry().create("dataset", "digits", {})
    splits = [dataset.split(name) for name in ("train", "test")]
    flat = [np.asarray(s.images, dtype=np.float64).reshape(len(s.labels), -1) for s in splits]
    unit = [(f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32) for f in flat]
    return unit[0], splits[0].labels, unit[1], splits[1].labels


def ours(row: str, x: np.ndarray, budget: int, seed: int) -> tuple[np.ndarray, dict]:
    name, options = METHODS[row]
    pool = Pool(x, np.empty(0, np.int64), 10, LabelOracle(np.zeros(len(x), np.int64), np.empty(0, np.int64)))
    chosen = get_registry().create("sampler", name, options).select(pool, budget, np.random.default_rng(seed))
    return np.asarray(chosen), dict(pool.info)


def reference(row: str, x: np.ndarray, budget: int, seed: int, our_picks: np.ndarray, info: dict) -> list[int]:
    """The re-statement of ``row``'s algorithm at the sampler's settings."""
    if row == "coreset":
        return [int(our_picks[0])] + ref.coreset_reference(x, [int(our_picks[0])], budget - 1)
    if row.startswith("typiclust"):
        return ref.typiclust_reference(x, budget, seed)
    if row == "probcover":
        return ref.probcover_reference(x, info["delta"], budget)
    if row == "maxherding":
        return ref.maxherding_reference(x, [], budget)
    start = np.random.default_rng(seed).choice(len(x), budget, replace=False)  # activeft's first draw
    return ref.activeft_reference(x, start)


def nearest_neighbour_accuracy(x, y, test_x, test_y, picks) -> float:
    similarity = test_x @ x[picks].T
    return 100.0 * float(np.mean(y[picks][np.argmax(similarity, axis=1)] == test_y))


@pytest.mark.parametrize("row", METHODS)
def test_reference(benchmark, row):
    x, y, test_x, test_y = digits()
    benchmark.group = "reference samplers, digits, from zero labels"
    ours("coreset", x[:200], 5, 0)  # torch's first call (import, thread pool) is no method's time
    cases = [(seed, budget) for seed in SEEDS for budget in BUDGETS]
    pending = list(cases)

    def one_case():
        return (pending.pop(0),), {}

    def run(case):
        seed, budget = case
        start = time.perf_counter()
        picks, info = ours(row, x, budget, seed)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        expected = reference(row, x, budget, seed, picks, info)
        reference_s = time.perf_counter() - start
        _results.setdefault(row, {})[case] = {
            "overlap": 100.0 * len(set(picks.tolist()) & set(expected)) / budget,
            "coverage": [100.0 * len(set(y[p])) / 10 for p in (picks, expected)],
            "knn": [nearest_neighbour_accuracy(x, y, test_x, test_y, np.asarray(p)) for p in (picks, expected)],
            "time": [ours_s, reference_s],
            "delta": info.get("delta"),
        }

    benchmark.pedantic(run, setup=one_case, rounds=len(cases), iterations=1)
    benchmark.extra_info.update({f"{s}-{b}": r for (s, b), r in _results[row].items()})


def summary() -> str:
    lines = ["\nOurs vs the re-statement of the paper's algorithm, digits (L2-normalised pixels), "
             f"from zero labels, seeds {', '.join(map(str, SEEDS))} (mean ± std; one thread)",
             "| method | budget | pick overlap % | coverage % ours / reference | 1-NN % ours / reference | "
             "time ours / reference |", "|:--|--:|--:|--:|--:|--:|"]
    for row, cases in _results.items():
        for budget in BUDGETS:
            runs = [r for (seed, b), r in cases.items() if b == budget]
            if not runs:
                continue
            pair = lambda key, i: np.array([r[key][i] for r in runs])
            stat = lambda a: f"{a.mean():.1f} ± {a.std():.1f}"
            overlap = np.array([r["overlap"] for r in runs])
            lines.append(
                f"| {row} | {budget} | {stat(overlap)} | {stat(pair('coverage', 0))} / {stat(pair('coverage', 1))} | "
                f"{stat(pair('knn', 0))} / {stat(pair('knn', 1))} | "
                f"{pair('time', 0).mean():.3f} s / {pair('time', 1).mean():.3f} s |")
    deltas = sorted({r["delta"] for r in _results.get("probcover", {}).values() if r["delta"] is not None})
    if deltas:
        lines.append(f"\nprobcover's δ (both sides): {', '.join(f'{d:g}' for d in deltas)}")
    return "\n".join(lines)
