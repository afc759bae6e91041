"""One Lloyd iteration of our K-means (faiss) against the work it needs, at the CIFAR grid's size.

Issue 14 asks every selection to run within 2× of its arithmetic. For K-means the FLOP
count of an iteration is ``2 · N · k · D`` (the assignment product; the centroid update is
``N · D`` additions), but at small ``k`` an iteration cannot be faster than reading the
pool once, so each row gives both bounds, measured in the same run on the same array:

- *FLOP bound*: ``2 · N · k · D`` at one core's sgemm rate on a square product
  (512 × 512 × 512, the rate BLAS reaches when it is arithmetic-bound);
- *one read of the pool*: the time of one streaming pass over ``x`` (its row norms);
- *the assignment product alone*: ``x @ C.T`` for ``k`` centres, as BLAS runs it.

The iterations are faiss's (``faiss.Kmeans`` built as ``kit.compute.kmeans`` builds it:
every point, ``min_points_per_centroid=1``), from one start, run to 20 iterations
(``early_stop_threshold=0``) so that the per-iteration time is an average over 20;
the row also gives how many iterations our default tolerance (1e-4) stops after. One
thread throughout (faiss, BLAS).

Run: ``pytest benchmarks/bench_lloyd.py --benchmark-only -q -s``; results in RESULTS.md,
"K-means selection".
"""

from __future__ import annotations

import time

import faiss
import numpy as np
import pytest
from conftest import clustered_features, one_thread

from lbal_bench.kit.compute import GREEDY_TOL

N, DIM, CLUSTERS = 50_000, 512, 10
_rows: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    from threadpoolctl import threadpool_limits

    with one_thread(), threadpool_limits(1):
        yield
    print("\n| k | iterations at tol 1e-4 | ms an iteration | FLOP bound | one read of the pool | "
          "x @ C.T alone | ratio to the larger bound |\n|--:|--:|--:|--:|--:|--:|--:|")
    print("\n".join(_rows))


def best_of(repeats: int, work) -> float:
    """The fastest of ``repeats`` timings of ``work()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def lloyd(x: np.ndarray, k: int, tol: float) -> tuple[float, int]:
    """Seconds and iterations of faiss's Lloyd on every point of ``x`` from a fixed start."""
    km = faiss.Kmeans(x.shape[1], k, niter=20, nredo=1, seed=1, verbose=False, min_points_per_centroid=1,
                      max_points_per_centroid=len(x) // k + 1, early_stop_threshold=tol)
    start = time.perf_counter()
    km.train(x, init_centroids=x[:: len(x) // k][:k].copy())
    return time.perf_counter() - start, len(km.iteration_stats)


@pytest.mark.parametrize("k", [10, 50, 300])
def test_lloyd_iteration(benchmark, k):
    x, _ = clustered_features(N, DIM, CLUSTERS, seed=0)
    x = np.ascontiguousarray(x, dtype=np.float32)
    square = np.ones((512, 512), np.float32)
    sgemm_rate = 2 * 512**3 / best_of(5, lambda: square @ square)
    read = best_of(5, lambda: np.einsum("ij,ij->i", x, x))
    centres = x[:k].copy()
    product = best_of(5, lambda: x @ centres.T)
    seconds = {}
    benchmark.group = f"Lloyd on {N:,} x {DIM}"
    benchmark.pedantic(lambda: seconds.update(full=lloyd(x, k, 0.0)), rounds=1, iterations=1)
    (full, iterations), stopped = seconds["full"], lloyd(x, k, GREEDY_TOL)[1]
    per_iteration = full / iterations
    flop_bound = 2 * N * k * DIM / sgemm_rate
    bound = max(flop_bound, read)
    _rows.append(f"| {k} | {stopped} | {1e3 * per_iteration:.1f} | {1e3 * flop_bound:.1f} ms "
                 f"({sgemm_rate / 1e9:.0f} GFLOP/s) | {1e3 * read:.1f} ms ({x.nbytes / read / 1e9:.1f} GB/s) | "
                 f"{1e3 * product:.1f} ms | {per_iteration / bound:.1f}x |")
    benchmark.extra_info.update(k=k, iterations_at_tol=stopped, ms_per_iteration=1e3 * per_iteration,
                                flop_bound_ms=1e3 * flop_bound, read_ms=1e3 * read, product_ms=1e3 * product)
