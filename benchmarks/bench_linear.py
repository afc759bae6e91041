"""Linear-head training: ``fit_linear`` against the autograd loop it replaced.

The baseline is the previous ``lbal_bench.training.fit_linear`` loop: ``torch.nn.Linear``,
``torch.optim.Adam``, ``MultiStepLR`` and ``loss.backward()`` per mini-batch, with the
same initialisation and batch order. ``fit_linear`` writes the gradient and the Adam
update out. Cases: the paper's CIFAR cell (300 labels, 10 classes, batch 4) and a larger
batch (3,000 labels, 100 classes, batch 128); 512-d features from ``clustered_features``;
100 epochs; torch pinned to one thread. Both must end with the same weights (to 1e-5).

Run: ``pytest benchmarks/bench_linear.py --benchmark-only -q -s``; results in RESULTS.md,
"Grid wall time".
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from conftest import clustered_features, one_thread

from lbal_bench.training import fit_linear

CASES = {"CIFAR cell: 300 labels, 10 classes, batch 4": (300, 10, 4),
         "3,000 labels, 100 classes, batch 128": (3000, 100, 128)}
_rows: dict[str, dict] = {}


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    with one_thread():
        yield
    for case, row in _rows.items():
        print(f"\n{case}: " + ", ".join(f"{k} {v}" for k, v in row.items()))


def autograd_linear(x: np.ndarray, y: np.ndarray, num_classes: int, seed: int, batch_size: int, epochs: int = 100):
    """The replaced loop: autograd and torch's Adam; returns the trained layer."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    inputs, targets = torch.as_tensor((x - mean) / std), torch.as_tensor(y)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Linear(x.shape[1], num_classes)
    shuffle = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, [50, 75], gamma=0.1)
    for _ in range(epochs):
        for batch in torch.randperm(len(inputs), generator=shuffle).split(batch_size):
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(inputs[batch]), targets[batch]).backward()
            optimizer.step()
        schedule.step()
    return model


@pytest.mark.parametrize("case", list(CASES))
def test_linear_head(benchmark, case):
    n, classes, batch = CASES[case]
    benchmark.group = f"linear head, {case}"
    x, y = clustered_features(n, 512, classes, spread=1.5)
    start = time.perf_counter()
    baseline = autograd_linear(x, y, classes, seed=1, batch_size=batch)
    baseline_seconds = time.perf_counter() - start
    head = benchmark.pedantic(lambda: fit_linear(x, y, classes, seed=1, batch_size=batch), rounds=3, iterations=1)
    difference = float((head.model.weight - baseline.weight).abs().max())
    assert difference < 1e-5
    median = benchmark.stats.stats.median
    _rows[case] = {"autograd loop": f"{baseline_seconds:.2f} s", "fit_linear (median of 3)": f"{median:.2f} s",
                   "speed-up": f"{baseline_seconds / median:.1f}x", "max weight difference": f"{difference:.1e}"}
    benchmark.extra_info.update(speedup=baseline_seconds / median, weight_difference=difference)
