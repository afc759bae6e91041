"""K-means selection: the ``kmeans`` sampler against the paper's original configuration.

The baseline is what UCDvision/low-budget-al ``strategies.fast_kmeans`` ran:
``faiss.Kmeans(d, k, niter=20, nredo=5, max_points_per_centroid=2 * N // k)`` (random
initial centroids, the best of 5 runs), then the pool point nearest each centre. It runs
on the CPU here (the original used the GPU). Each "ours" row is the ``kmeans`` sampler
built through the registry and called as the runner calls it, with its defaults or with
other options (a small grid of the settings that trade quality for time).

For every run: the wall time, the K-means inertia (sum over all points of the squared
distance to the nearest centre, computed by the same exact faiss search for every row),
and the selection's inertia (the same with the selected points as centres: how well the
labeled points cover the pool). Each row runs once per seed (pytest-benchmark pedantic
mode, one round per seed), so the time columns are over seeds.

Scales: 128,000 × 512 features around 1,000 centres with k = 1,000 (the issue's goal:
at least 4× faster than the original with a mean inertia at most 1% higher), and
20,000 × 128 around 100 centres with k = 100 (does the conclusion hold smaller?), both
from ``clustered_features`` (spread 0.5, seed 0). faiss is pinned to one thread: the
machine is shared, and OpenMP threads spinning on busy cores slow runs at random; one
thread compares the settings like for like. At the large scale the default's mean
inertia must stay within 1% of the original's, and its speed-up above 3× (the goal is 4×;
the margin is for timing noise). At the small scale the seeds spread the inertia by ±10%,
so 50 seeds resolve the mean to about ±1.5%: reported, not asserted.

The original's "nearest point per centre" can give two centres the same point (its code
took the nearest member of each centre's own cluster instead, and dropped empty
clusters); the summary counts the distinct picks.

Run: ``pytest benchmarks/bench_kmeans.py --benchmark-only -q`` (add ``-s`` for a summary
table per scale; about 6 minutes on 2 cores); results in RESULTS.md.
"""

from __future__ import annotations

import functools

import faiss
import numpy as np
import pytest
from conftest import clustered_features, one_thread

from lbal_bench import LabelOracle, Pool
from lbal_bench.plugins import get_registry

SCALES = {"128k": (128_000, 512, 1_000, 1_000), "20k": (20_000, 128, 100, 100)}  # n, dim, clusters, k
SEEDS = {  # scale -> seeds of the original, of our defaults, of the other settings
    "128k": {"original": (0, 1), "default": (0, 1, 2), "grid": (0, 1)},
    "20k": {"original": range(50), "default": range(50), "grid": range(50)},
}
ORIGINAL = "original: random init, nredo 5"
SETTINGS = {  # row -> kmeans sampler options; None is the original code
    ORIGINAL: None,
    "ours (defaults): afkmc2, nredo 1": {},
    "random init, nredo 1": {"init": "random"},
    "kmeans++ init, nredo 1": {"init": "kmeans++"},
    "afkmc2, nredo 1, max_points_per_centroid 64": {"max_points_per_centroid": 64},
    "afkmc2, nredo 2": {"nredo": 2},
}
MAX_INERTIA_INCREASE = 0.01
MIN_SPEEDUP = 3.0  # the goal is 4x and runs measure 4-5x; the margin absorbs a shared machine's timing noise

_rows: dict[str, dict[str, dict]] = {scale: {} for scale in SCALES}  # scale -> row -> results


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module", autouse=True)
def print_summaries():
    """After the module: one markdown table per scale (shown with ``-s``)."""
    yield
    for scale, rows in _rows.items():
        if rows:
            print(summary(scale, rows))


@functools.lru_cache(maxsize=1)
def features(scale: str) -> np.ndarray:
    n, dim, clusters, _ = SCALES[scale]
    return clustered_features(n, dim, clusters, spread=0.5, seed=0)[0]


def inertia(x: np.ndarray, centres: np.ndarray) -> float:
    """Sum over the rows of ``x`` of the squared distance to the nearest centre."""
    index = faiss.IndexFlatL2(x.shape[1])
    index.add(np.ascontiguousarray(centres, dtype=np.float32))
    return float(index.search(x, 1)[0].sum(dtype=np.float64))


def original_selection(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(centres, picks)`` of the original code: best of 5 randomly initialised runs."""
    km = faiss.Kmeans(x.shape[1], k, niter=20, nredo=5, max_points_per_centroid=2 * len(x) // k, seed=seed,
                      verbose=False)
    km.train(x)
    index = faiss.IndexFlatL2(x.shape[1])
    index.add(x)
    return km.centroids, index.search(km.centroids, 1)[1][:, 0]


def sampler_selection(sampler, pool: Pool, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(centres, picks)`` of the ``kmeans`` sampler; the centres are those its
    ``select`` computed, recorded on the way."""
    recorded = []
    compute = sampler.centroids

    def recording(x, k, seed):
        recorded.append(compute(x, k, seed))
        return recorded[-1]

    object.__setattr__(sampler, "centroids", recording)  # the sampler is a frozen dataclass
    try:
        picks = sampler.select(pool, k, np.random.default_rng(seed))
    finally:
        object.__delattr__(sampler, "centroids")
    return recorded[0], picks


@pytest.mark.parametrize("row", SETTINGS)
@pytest.mark.parametrize("scale", SCALES)
def test_kmeans_selection(benchmark, scale, row):
    x = features(scale)
    n, dim, clusters, k = SCALES[scale]
    benchmark.group = f"K-means selection, {n} x {dim}, {clusters} clusters, k = {k}"
    options = SETTINGS[row]
    seeds = list(SEEDS[scale]["original" if options is None else "default" if options == {} else "grid"])
    if options is None:
        run = functools.partial(original_selection, x, k)
    else:
        pool = Pool(x, np.empty(0, dtype=np.int64), clusters, LabelOracle(np.zeros(n, dtype=np.int64), []))
        run = functools.partial(sampler_selection, get_registry().create("sampler", "kmeans", options), pool, k)
    pending, results = list(seeds), []

    def one_seed():
        return (pending.pop(0),), {}

    def timed(seed):
        results.append(run(seed))

    benchmark.pedantic(timed, setup=one_seed, rounds=len(seeds), iterations=1)
    distinct = [len(np.unique(picks)) for _, picks in results]
    if options is not None:
        assert distinct == [k] * len(seeds)
    kmeans_inertia = [inertia(x, centres) for centres, _ in results]
    selection_inertia = [inertia(x, x[picks]) for _, picks in results]
    stats = benchmark.stats.stats
    result = _rows[scale][row] = {"seeds": len(seeds), "mean_s": stats.mean, "inertia": kmeans_inertia,
                                  "selection_inertia": selection_inertia, "fewest_distinct_picks": min(distinct)}
    benchmark.extra_info.update(result)

    original = _rows[scale].get(ORIGINAL)
    if options != {} or original is None:
        return
    increase = np.mean(kmeans_inertia) / np.mean(original["inertia"]) - 1
    speedup = original["mean_s"] / stats.mean
    benchmark.extra_info.update(inertia_increase=increase, speedup=speedup)
    if scale == "128k":
        assert increase <= MAX_INERTIA_INCREASE, f"mean inertia {100 * increase:+.2f}% vs the original"
        assert speedup >= MIN_SPEEDUP, f"speed-up {speedup:.1f}x"


def summary(scale: str, rows: dict[str, dict]) -> str:
    """A markdown table of the rows of one scale, relative to the original when it ran."""
    n, dim, clusters, k = SCALES[scale]
    base = rows.get(ORIGINAL)
    lines = [f"\n{n} x {dim}, {clusters} clusters, k = {k}",
             "| setting | seeds | time per seed | speed-up | inertia (mean) | vs original: mean | worst seed | "
             "selection inertia vs original | fewest distinct picks |",
             "|:--|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for row, r in rows.items():
        mean, worst = np.mean(r["inertia"]), np.max(r["inertia"])
        if base:
            ref, ref_sel = np.mean(base["inertia"]), np.mean(base["selection_inertia"])
            relative = (f"{base['mean_s'] / r['mean_s']:.1f}x", f"{100 * (mean / ref - 1):+.2f}%",
                        f"{100 * (worst / ref - 1):+.2f}%", f"{100 * (np.mean(r['selection_inertia']) / ref_sel - 1):+.2f}%")
        else:
            relative = ("-",) * 4
        lines.append(f"| {row} | {r['seeds']} | {r['mean_s']:.2f} s | {relative[0]} | {mean:.1f} | "
                     + " | ".join(relative[1:]) + f" | {r['fewest_distinct_picks']} |")
    return "\n".join(lines)
