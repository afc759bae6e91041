"""Linear-head training: numpy ``fit_linear`` and ``fit_linear_batched`` against the torch
steps they replaced, in one run.

The baseline is ``fit_linear(..., device="torch-cpu")``: the loop of commit 3c7008d (the
cross-entropy gradient and Adam written out as torch tensor operations; its weights are
that commit's bit for bit, tests/test_evaluator_linear.py). ``fit_linear`` runs the same
steps in numpy (same initialisation and batch order; weights within float32 rounding);
``fit_linear_batched`` trains 33 heads at once, as many as the default suite has cells
per budget (11 samplers × 3 seeds), each equal to ``fit_linear``'s bit for bit. Cases:
the default suite's 50-label digits cell (64 dims, 10 classes, batch 4), the paper's CIFAR
cell (300 labels × 512, batch 4) and a larger batch (3,000 labels, 100 classes, batch
128); 100 epochs; torch and BLAS on one thread.

Run: ``pytest benchmarks/bench_linear.py --benchmark-only -q -s``; results in RESULTS.md,
"Default suite".
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import clustered_features, one_thread

from lbal_bench.kit.compute import one_blas_thread
from lbal_bench.kit.training import fit_linear, fit_linear_batched

CASES = {"digits cell: 50 labels x 64, 10 classes, batch 4": (50, 64, 10, 4),
         "CIFAR cell: 300 labels x 512, 10 classes, batch 4": (300, 512, 10, 4),
         "3,000 labels x 512, 100 classes, batch 128": (3000, 512, 100, 128)}
HEADS = 33
_rows: dict[str, dict] = {}


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    with one_thread(), one_blas_thread():
        yield
    for case, row in _rows.items():
        print(f"\n{case}: " + ", ".join(f"{k} {v}" for k, v in row.items()))


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


@pytest.mark.parametrize("case", list(CASES))
def test_linear_head(benchmark, case):
    n, dim, classes, batch = CASES[case]
    benchmark.group = f"linear head, {case}"
    x, y = clustered_features(n, dim, classes, spread=1.5)
    torch_head = fit_linear(x, y, classes, seed=1, batch_size=batch, device="torch-cpu")  # also imports torch
    torch_seconds = seconds(lambda: fit_linear(x, y, classes, seed=1, batch_size=batch, device="torch-cpu"))
    head = benchmark.pedantic(lambda: fit_linear(x, y, classes, seed=1, batch_size=batch), rounds=3, iterations=1)
    difference = float(np.abs(head.weight - torch_head.weight).max())
    assert difference < 1e-4
    median = benchmark.stats.stats.median
    row = {"torch steps (3c7008d)": f"{torch_seconds:.3f} s", "numpy (median of 3)": f"{median:.3f} s",
           "speed-up": f"{torch_seconds / median:.1f}x", "max weight difference": f"{difference:.1e}"}
    if n <= 300:  # the batch-4 cells: 33 heads as one problem
        rng = np.random.default_rng(0)
        sets = [clustered_features(n, dim, classes, spread=1.5, draw=int(rng.integers(1000))) for _ in range(HEADS)]
        xs, ys = [s[0] for s in sets], [s[1] for s in sets]
        batched = seconds(lambda: fit_linear_batched(xs, ys, classes, seeds=list(range(HEADS)), batch_size=batch))
        row[f"{HEADS} heads batched, per head"] = f"{batched / HEADS:.4f} s ({torch_seconds * HEADS / batched:.1f}x torch's)"
    _rows[case] = row
    benchmark.extra_info.update(speedup=torch_seconds / median, weight_difference=difference)
