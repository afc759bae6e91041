"""Grid wall time: whole suites through the runner, on the ``synthetic`` dataset.

- ``test_cifar_grid``: the CIFAR-10-size grid of the issue: 50,000 × 512 pool, 10,000
  test points, 10 classes; the paper's 7 samplers (random, uniform, kmeans,
  multi_kmeans, max_entropy, coreset, vaal; iterative ones from 10 random points,
  multi_kmeans from 10 K-means points, as ``suites/cifar10.yaml``) × the paper's 7
  budgets (10–300) × 3 seeds × (linear with the CIFAR batch of 4, 1-NN): 294 cells, 147
  selections. Three executors, each from an empty results directory and a warm feature
  cache: in this process (the baseline), ``--jobs 2`` worker processes, and a dask
  LocalCluster of 2 workers; the records must be equal (metrics and selections).
- ``test_growth_kmeans`` / ``test_growth_grid``: K-means selection (k = 300, one
  thread) and a one-seed grid (``--jobs 2``, budgets 10, 50, 100, 300) as the pool
  doubles from 16k to 256k points; the summary fits the exponent b of time ∝ N^b.
- ``test_imagenet_128k``: the ImageNet-size grid scaled to fit a 2-core CPU: 128,000 ×
  512 pool, 50,000 test points, 1,000 classes, budgets 1k and 3k (the first two of the
  paper's eight), one seed, linear (batch 128) and 1-NN, ``--jobs 2``.

Every test prints where the time went (selection seconds per sampler, evaluation seconds
per evaluator, summed over cells: CPU-side time, not wall time). Run:
``pytest benchmarks/bench_grid.py --benchmark-only -q -s`` (about 20 minutes on 2
cores; ``-k cifar`` for the grid alone); results in RESULTS.md, "Grid wall time".
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from conftest import one_thread

from lbal_bench import LabelOracle, Pool
from lbal_bench.cells import build_grid, expand
from lbal_bench.executors import cpu_count, make_executor
from lbal_bench.features import FeatureCache
from lbal_bench.plugins import get_registry
from lbal_bench.runner import Runner
from lbal_bench.store import ResultStore
from lbal_bench.suite import Suite

PAPER_SAMPLERS = [
    "random",
    "uniform",
    "kmeans",
    {"name": "multi_kmeans", "initial_pool": {"sampler": "kmeans", "size": 10}},
    {"name": "max_entropy", "initial_pool": {"sampler": "random", "size": 10}},
    {"name": "coreset", "initial_pool": {"sampler": "random", "size": 10}},
    {"name": "vaal", "initial_pool": {"sampler": "random", "size": 10}},
]
CIFAR = {"train_size": 50_000, "test_size": 10_000, "dim": 512, "num_classes": 10}
CIFAR_BUDGETS = [10, 20, 50, 70, 100, 200, 300]
CIFAR_EVALUATORS = [{"name": "linear", "options": {"batch_size": 4}}, "knn"]
EXECUTORS = {  # row -> (executor, options)
    "in-process (baseline)": ("local", {}),
    "local --jobs 2": ("local", {"jobs": 2}),
    "dask LocalCluster, 2 workers": ("dask", {"jobs": 2}),
}
GROWTH_SIZES = [16_000, 32_000, 64_000, 128_000, 256_000]
GROWTH_BUDGETS = [10, 50, 100, 300]

_results: dict[str, dict] = defaultdict(dict)  # test -> row -> figures


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(scope="module", autouse=True)
def print_summaries():
    """After the module: the figures of every test that ran (shown with ``-s``)."""
    yield
    for name, rows in _results.items():
        print(f"\n{name}")
        for row, figures in rows.items():
            print(f"  {row}: " + ", ".join(f"{k} {v}" for k, v in figures.items() if not k.startswith("_")))


def cells_of(dataset: dict, samplers: list, budgets: list[int], seeds: list[int], evaluators: list) -> list:
    suite = Suite.model_validate({
        "name": "bench", "datasets": [{"name": "synthetic", "options": dataset}], "backbones": ["pixels"],
        "samplers": samplers, "budgets": budgets, "seeds": seeds, "evaluators": evaluators,
    })
    return expand(build_grid(suite, get_registry()))


def extract(cells: list, cache_dir: Path) -> float:
    """Put the cells' features in the cache; the seconds it took (data generation included)."""
    start = time.perf_counter()
    for split in ("train", "test"):
        FeatureCache(cache_dir).get(cells[0].dataset, cells[0].backbone, split)
    return time.perf_counter() - start


def run_grid(cells: list, cache_dir: Path, out: Path, executor: str, options: dict) -> float:
    """Run ``cells`` into the empty results directory ``out``; the wall time in seconds."""
    runner = Runner(ResultStore(out), FeatureCache(cache_dir), suite="bench", executor=make_executor(executor, options))
    start = time.perf_counter()
    summary = runner.run(cells)
    seconds = time.perf_counter() - start
    assert summary.computed == len(cells)
    return seconds


def outcome(out: Path) -> dict:
    """Metrics and selected indices of every record: what no executor may change."""
    found = {}
    for path in (out / "records").glob("*.json"):
        record = json.loads(path.read_text())
        with np.load(out / record["selection"]["file"]) as data:
            found[path.stem] = (record["metrics"], data["indices"].tolist())
    return found


def where_time_went(out: Path) -> dict:
    """CPU-side seconds per sampler (each selection once) and per evaluator, summed over cells."""
    selections: dict[str, float] = {}
    spent: dict[str, float] = defaultdict(float)
    for path in (out / "records").glob("*.json"):
        record = json.loads(path.read_text())
        selections[(record["display"]["sampler"], record["selection"]["file"])] = record["timings"]["selection_s"]
        spent[f"eval {record['display']['evaluator']}"] += record["timings"]["evaluation_s"]
    for (sampler, _), seconds in selections.items():
        spent[f"select {sampler}"] += seconds
    return {name: f"{seconds:.1f} s" for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1])}


@pytest.mark.parametrize("row", list(EXECUTORS))
def test_cifar_grid(benchmark, cache_dir, tmp_path, row):
    benchmark.group = "CIFAR-10-size grid: 50k x 512, 7 samplers x 7 budgets x 3 seeds x (linear, 1-NN)"
    cells = cells_of(CIFAR, PAPER_SAMPLERS, CIFAR_BUDGETS, [0, 1, 2], CIFAR_EVALUATORS)
    extracted = extract(cells, cache_dir)
    executor, options = EXECUTORS[row]
    out = tmp_path / "results"
    seconds = benchmark.pedantic(run_grid, args=(cells, cache_dir, out, executor, options), rounds=1, iterations=1)
    rows = _results["CIFAR-10-size grid"]
    threads = threads_per_process(options)
    figures = {"cells": len(cells), "wall": f"{seconds:.1f} s", "threads per process": threads}
    if rows:  # the first row run is the baseline (in-process, unless deselected)
        name, baseline = next(iter(rows.items()))
        figures[f"speed-up vs {name}"] = f"{baseline['_seconds'] / seconds:.2f}x"
        # records are equal between executors at the same threads per process; across thread
        # counts K-means (faiss) can move a pick at a float near-tie, so count what differs
        same = next((n for n, r in rows.items() if r["_threads"] == threads), None)
        if same is not None:
            assert outcome(out) == rows[same]["_outcome"], f"{row}: records differ from those of {same}"
            figures["records"] = f"equal to {same}'s"
        mine, theirs = outcome(out), baseline["_outcome"]
        figures[f"vs {name}: cells with other picks"] = sum(mine[k][1] != theirs[k][1] for k in mine)
        figures[f"vs {name}: cells with other metrics"] = sum(mine[k][0] != theirs[k][0] for k in mine)
    else:
        figures["feature extraction (cold)"] = f"{extracted:.1f} s"
    rows[row] = {**figures, **where_time_went(out), "_seconds": seconds, "_outcome": outcome(out), "_threads": threads}
    benchmark.extra_info.update({k: v for k, v in figures.items()})


def threads_per_process(options: dict) -> int:
    """The CPU threads each process computing cells uses (the executors' ``limit_threads``)."""
    return max(1, cpu_count() // options["jobs"]) if "jobs" in options else cpu_count()


def kmeans_seconds(n: int, k: int = 300, seeds: tuple[int, ...] = (0, 1, 2)) -> float:
    """Median wall time of the ``kmeans`` sampler (k = ``k``, one faiss thread) on ``n`` points."""
    from lbal_plugins.datasets.synthetic import clustered_features

    features, labels = clustered_features(n, 512, 10)
    sampler = get_registry().create("sampler", "kmeans", {})
    empty = np.empty(0, dtype=np.int64)
    times = []
    with one_thread():
        for seed in seeds:
            pool = Pool(features=features, labeled=empty, num_classes=10, oracle=LabelOracle(labels, empty))
            start = time.perf_counter()
            sampler.select(pool, k, np.random.default_rng(seed))
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """b of the least-squares fit log(seconds) = a + b log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def test_growth_kmeans(benchmark):
    benchmark.group = "cost growth with N: K-means selection"
    seconds = benchmark.pedantic(lambda: [kmeans_seconds(n) for n in GROWTH_SIZES], rounds=1, iterations=1)
    rows = _results["cost growth: K-means selection (k = 300, one faiss thread, median of 3 seeds)"]
    rows.update({f"N = {n:,}": {"time": f"{t:.2f} s"} for n, t in zip(GROWTH_SIZES, seconds)})
    rows["exponent b (time ∝ N^b)"] = {"b": f"{exponent(GROWTH_SIZES, seconds):.2f}"}
    benchmark.extra_info.update(exponent=exponent(GROWTH_SIZES, seconds))


def test_growth_grid(benchmark, tmp_path_factory):
    benchmark.group = "cost growth with N: one-seed grid"

    def measure():
        times = []
        for n in GROWTH_SIZES:
            cells = cells_of({**CIFAR, "train_size": n}, PAPER_SAMPLERS, GROWTH_BUDGETS, [0], CIFAR_EVALUATORS)
            cache = tmp_path_factory.mktemp(f"cache-{n}")
            extract(cells, cache)
            times.append(run_grid(cells, cache, tmp_path_factory.mktemp(f"out-{n}"), "local", {"jobs": 2}))
        return times

    seconds = benchmark.pedantic(measure, rounds=1, iterations=1)
    rows = _results[f"cost growth: one-seed grid (7 samplers x budgets {GROWTH_BUDGETS} x (linear, 1-NN), --jobs 2)"]
    rows.update({f"N = {n:,}": {"time": f"{t:.1f} s"} for n, t in zip(GROWTH_SIZES, seconds)})
    rows["exponent b (time ∝ N^b)"] = {"b": f"{exponent(GROWTH_SIZES, seconds):.2f}"}
    benchmark.extra_info.update(exponent=exponent(GROWTH_SIZES, seconds))


def test_imagenet_128k(benchmark, cache_dir, tmp_path):
    benchmark.group = "ImageNet-size grid at 128k on CPU"
    dataset = {"train_size": 128_000, "test_size": 50_000, "dim": 512, "num_classes": 1000}
    samplers = [s if isinstance(s, str) else {**s, "initial_pool": {**s["initial_pool"], "size": 1000}}
                for s in PAPER_SAMPLERS]
    evaluators = [{"name": "linear", "options": {"batch_size": 128}}, "knn"]
    cells = cells_of(dataset, samplers, [1000, 3000], [0], evaluators)
    extracted = extract(cells, cache_dir)
    out = tmp_path / "results"
    seconds = benchmark.pedantic(run_grid, args=(cells, cache_dir, out, "local", {"jobs": 2}), rounds=1, iterations=1)
    _results["ImageNet-size grid at 128k (1,000 classes, budgets 1k and 3k, seed 0, --jobs 2)"]["run"] = {
        "cells": len(cells), "wall": f"{seconds:.1f} s", "feature extraction": f"{extracted:.1f} s",
        **where_time_went(out)}
    benchmark.extra_info.update(seconds=seconds, cells=len(cells))
