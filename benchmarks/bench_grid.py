"""Grid wall time: whole suites through the runner, on the ``synthetic`` dataset.

Each grid row runs in a fresh Python process (``python bench_grid.py --grid``) from an
empty results directory and a warm feature cache, timed there (wall time of the run, CPU
time of the process and its workers), with the load average before and after. The code
of a row is this environment's install, or, for ``baseline`` rows, the checkout named by
``LBAL_BASELINE`` (``git worktree add /tmp/baseline <commit>``) installed without
dependencies into a folder that goes first on ``PYTHONPATH`` (as in bench_suite.py);
``LBAL_CHECKOUT`` names another checkout to measure instead of this environment's. The
first row run is the reference of the speed-up column; rows with equal threads per
process must give equal records (metrics and selected indices), baseline rows included.

- ``test_cifar_grid``: the CIFAR-10-size grid of the issue: 50,000 × 512 pool, 10,000
  test points, 10 classes; the paper's 7 samplers (random, uniform, kmeans,
  multi_kmeans, max_entropy, coreset, vaal; iterative ones from 10 random points,
  multi_kmeans from 10 K-means points, as ``suites/cifar10.yaml``) × the paper's 7
  budgets (10–300) × 3 seeds × (linear with the CIFAR batch of 4, 1-NN): 294 cells, 147
  selections. Rows: the baseline with ``--jobs 2``, then this code with ``--jobs 2``,
  in this process, and on a dask LocalCluster of 2 workers.
- ``test_growth_kmeans`` / ``test_growth_grid``: K-means selection (k = 300, one
  thread) and a one-seed grid (``--jobs 2``, budgets 10, 50, 100, 300) as the pool
  doubles from 16k to 256k points; the summary fits the exponent b of time ∝ N^b.
- ``test_imagenet_128k``: the ImageNet-size grid scaled to fit a 2-core CPU: 128,000 ×
  512 pool, 50,000 test points, 1,000 classes, budgets 1k and 3k (the first two of the
  paper's eight), one seed, linear (batch 128) and 1-NN, ``--jobs 2``; rows: the
  baseline, then this code.

Every row prints where the time went (selection seconds per sampler, evaluation seconds
per evaluator, summed over cells: CPU-side time, not wall time; a batch's time is shared
equally by its cells). Run: ``LBAL_BASELINE=/tmp/baseline pytest benchmarks/bench_grid.py
--benchmark-only -q -s --benchmark-json benchmarks/results/grid.json`` (about 30 minutes
on 2 cores; ``-k "(cifar_grid and jobs) or imagenet"`` for the baseline and ``--jobs 2``
rows alone); results in RESULTS.md, "Grid wall time". Each row also prints the arithmetic
of each kind of cell (``arithmetic``: FLOPs from the cell's shape) against its median
measured time and one core's float32 matrix-product rate measured after the row.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import math

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
ROWS = {  # row -> (code, executor, options)
    "baseline, --jobs 2": ("baseline", "local", {"jobs": 2}),
    "--jobs 2": ("checkout", "local", {"jobs": 2}),
    "in-process": ("checkout", "local", {}),
    "dask LocalCluster, 2 workers": ("checkout", "dask", {"jobs": 2}),
}
IMAGENET_128K = {"train_size": 128_000, "test_size": 50_000, "dim": 512, "num_classes": 1000}
ROOT = Path(__file__).resolve().parents[1]
GROWTH_SIZES = [16_000, 32_000, 64_000, 128_000, 256_000]
GROWTH_BUDGETS = [10, 50, 100, 300]

_results: dict[str, dict] = defaultdict(dict)  # test -> row -> figures


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("feature-cache")


def _checkout(variable: str) -> Path | None:
    return Path(os.environ[variable]).resolve() if os.environ.get(variable) else None


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> dict:
    """``baseline`` / ``checkout`` -> (folder first on PYTHONPATH or None, revision);
    ``baseline`` only with ``LBAL_BASELINE``."""
    from bench_suite import install

    found = {}
    for name, variable in (("baseline", "LBAL_BASELINE"), ("checkout", "LBAL_CHECKOUT")):
        checkout = _checkout(variable)
        if checkout is None and name == "checkout":
            checkout, site = ROOT, None
        elif checkout is None:
            continue
        else:
            site = install(checkout, tmp_path_factory.mktemp(f"{name}-site"))
        revision = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                                  capture_output=True, text=True).stdout.strip()
        dirty = checkout == ROOT and subprocess.run(["git", "-C", str(checkout), "diff", "--quiet", "HEAD"]).returncode
        found[name] = (site, revision + (" + working tree" if dirty else ""))
    return found


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


def sgemm_rate() -> float:
    """One thread's float32 matrix-product rate here, FLOP/s (128 × 513 × 1,000: a step of
    an ImageNet-size linear head)."""
    from threadpoolctl import threadpool_limits

    a, b = np.ones((128, 513), np.float32), np.ones((513, 1000), np.float32)
    with threadpool_limits(1):
        a @ b
        start = time.perf_counter()
        for _ in range(50):
            a @ b
        return 50 * 2 * 128 * 513 * 1000 / (time.perf_counter() - start)


def arithmetic(record: dict, dataset: dict) -> tuple[str, float, float] | None:
    """``(kind, FLOPs, seconds)`` of a record's evaluation (``linear``, ``knn``; None for
    the rest). Elementwise operations count one FLOP each (Adam: 13 a parameter and step)."""
    n_test, d, c = dataset["test_size"], dataset["dim"], dataset["num_classes"]
    budget, evaluator = record["config"]["budget"], record["config"]["evaluator"]
    if evaluator["name"] == "linear":
        batch, epochs = evaluator["options"]["batch_size"], evaluator["options"]["epochs"]
        flops = (4 * budget * epochs * (d + 1) * c + math.ceil(budget / batch) * epochs * 13 * (d + 1) * c
                 + 2 * n_test * (d + 1) * c)
        return f"linear, {budget} labels", flops, record["timings"]["evaluation_s"]
    if evaluator["name"] == "knn":
        return f"1-NN, {budget} labels", 2 * n_test * budget * d, record["timings"]["evaluation_s"]
    return None


def selection_arithmetic(record: dict, dataset: dict) -> tuple[str, float, float] | None:
    """``arithmetic`` of a record's selection: ``kmeans`` (an upper bound: 20 Lloyd
    iterations), ``vaal`` and ``coreset`` steps; None for the rest."""
    n, d, k = dataset["train_size"], dataset["dim"], record["config"]["budget"]
    sampler, seconds = record["config"]["sampler"]["name"], record["timings"]["selection_s"]
    if sampler == "kmeans":  # greedy seeding on min(N, 128 k) points, at most 20 Lloyd iterations
        return f"kmeans, k = {k}", (20 * k * n + k * (2 + int(math.log(k))) * min(n, 128 * k)) * 2 * d, seconds
    if sampler == "coreset" and record["config"]["selection"].get("after") is not None:
        return f"coreset, {k}", 2 * n * d * k, seconds  # distances to every centre, initial or picked
    if sampler == "vaal" and record["config"]["selection"].get("after") is not None:
        h, z, rows = 256, 32, 256
        encoder, decoder, judge = d * h + h * h + 2 * h * z, z * h + h * h + h * d, z * h + h * h + h
        step = 2 * 6 * rows * (encoder + decoder + judge) + 2 * rows * encoder + 6 * rows * judge
        return "vaal, a selection", 300 * step + 2 * n * (encoder + judge), seconds
    return None


def arithmetic_table(out: Path, dataset: dict, rate: float) -> dict:
    """kind -> 'FLOPs, median seconds, ratio to the FLOPs at ``rate``' over the records of ``out``."""
    found: dict[str, list] = defaultdict(list)
    selections = set()
    for path in (out / "records").glob("*.json"):
        record = json.loads(path.read_text())
        for count in (arithmetic(record, dataset),
                      None if record["selection"]["file"] in selections else selection_arithmetic(record, dataset)):
            if count is not None:
                found[count[0]].append(count[1:])
        selections.add(record["selection"]["file"])
    table = {}
    for kind, counts in sorted(found.items()):
        flops, seconds = counts[0][0], float(np.median([s for _, s in counts]))
        table[kind] = f"{flops / 1e9:.3g} GFLOP in {seconds * 1e3:.0f} ms ({seconds * rate / flops:.1f}x)"
    return table


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children so far."""
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def grid_here(grid: dict) -> dict:
    """In a row's process: the grid ``grid`` describes (``cells_of``'s arguments, cache,
    results directory, executor), its features put in the cache first; wall and CPU seconds."""
    cells = cells_of(grid["dataset"], grid["samplers"], grid["budgets"], grid["seeds"], grid["evaluators"])
    extract(cells, Path(grid["cache"]))
    cpu, load = cpu_seconds(), os.getloadavg()[0]
    wall = run_grid(cells, Path(grid["cache"]), Path(grid["out"]), grid["executor"], grid["options"])
    return {"cells": len(cells), "wall": wall, "cpu": cpu_seconds() - cpu, "load": [load, os.getloadavg()[0]]}


def grid_row(grid: dict, site: Path | None) -> dict:
    """``grid_here`` in a fresh process running the code installed in ``site`` (None: this environment's)."""
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, __file__, "--grid", json.dumps(grid)], cwd=Path(__file__).parent, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def measured_row(benchmark, rows: dict, row: str, name: str, grid: dict, code: dict, threads: int) -> dict:
    """Run one row of a grid test (its ``grid_row``, with the code ``code[name]``), compare
    its records with the rows before it, and add its figures to ``rows`` and the
    benchmark's extra info."""
    if name not in code:
        pytest.skip(f"no {name} code (set LBAL_BASELINE to a checkout)")
    site, revision = code[name]
    result = benchmark.pedantic(grid_row, args=(grid, site), rounds=1, iterations=1)
    out = Path(grid["out"])
    figures = {"code": revision, "cells": result["cells"], "wall": f"{result['wall']:.1f} s",
               "CPU": f"{result['cpu']:.1f} s", "load average": "{:.1f} -> {:.1f}".format(*result["load"]),
               "threads per process": threads}
    mine = outcome(out)
    if rows:  # the first row run is the reference
        first, reference = next(iter(rows.items()))
        figures[f"speed-up vs {first}"] = f"{reference['_seconds'] / result['wall']:.2f}x"
        figures[f"CPU vs {first}"] = f"{result['cpu'] / reference['_cpu']:.2f}x"
        # records are equal at the same threads per process; across thread counts K-means
        # (faiss) can move a pick at a float near-tie, so count what differs
        # (compared on the cells both rows ran: a changed default gives a cell another
        # fingerprint, i.e. another protocol, whose records need not be equal)
        same = next((n for n, r in rows.items() if r["_threads"] == threads), None)
        if same is not None:
            other = rows[same]["_outcome"]
            common = sorted(mine.keys() & other.keys())
            assert [mine[k] for k in common] == [other[k] for k in common], \
                f"{row}: records differ from those of {same}"
            figures["records"] = f"equal to {same}'s on the {len(common)} cells both ran"
            figures["cells of another protocol (fingerprint in one row only)"] = len(mine.keys() - other.keys())
        theirs = reference["_outcome"]
        common = mine.keys() & theirs.keys()
        figures[f"vs {first}: cells with other picks"] = sum(mine[k][1] != theirs[k][1] for k in common)
        figures[f"vs {first}: cells with other metrics"] = sum(mine[k][0] != theirs[k][0] for k in common)
    rate = sgemm_rate()
    figures["one core's sgemm"] = f"{rate / 1e9:.0f} GFLOP/s"
    rows[row] = {**figures, **where_time_went(out), **arithmetic_table(out, grid["dataset"], rate),
                 "_seconds": result["wall"], "_cpu": result["cpu"],
                 "_outcome": mine, "_threads": threads}
    benchmark.extra_info.update({**figures, "wall_s": result["wall"], "cpu_s": result["cpu"]})
    return rows[row]


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


@pytest.mark.parametrize("row", list(ROWS))
def test_cifar_grid(benchmark, cache_dir, tmp_path, code, row):
    benchmark.group = "CIFAR-10-size grid: 50k x 512, 7 samplers x 7 budgets x 3 seeds x (linear, 1-NN)"
    name, executor, options = ROWS[row]
    grid = {"dataset": CIFAR, "samplers": PAPER_SAMPLERS, "budgets": CIFAR_BUDGETS, "seeds": [0, 1, 2],
            "evaluators": CIFAR_EVALUATORS, "cache": str(cache_dir), "out": str(tmp_path / "results"),
            "executor": executor, "options": options}
    measured_row(benchmark, _results["CIFAR-10-size grid"], row, name, grid, code, threads_per_process(options))


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


@pytest.mark.parametrize("row", ["baseline, --jobs 2", "--jobs 2"])
def test_imagenet_128k(benchmark, cache_dir, tmp_path, code, row):
    benchmark.group = "ImageNet-size grid at 128k on CPU"
    samplers = [s if isinstance(s, str) else {**s, "initial_pool": {**s["initial_pool"], "size": 1000}}
                for s in PAPER_SAMPLERS]
    grid = {"dataset": IMAGENET_128K, "samplers": samplers, "budgets": [1000, 3000], "seeds": [0],
            "evaluators": [{"name": "linear", "options": {"batch_size": 128}}, "knn"], "cache": str(cache_dir),
            "out": str(tmp_path / "results"), "executor": "local", "options": {"jobs": 2}}
    rows = _results["ImageNet-size grid at 128k (1,000 classes, budgets 1k and 3k, seed 0, --jobs 2)"]
    measured_row(benchmark, rows, row, ROWS[row][0], grid, code, threads_per_process({"jobs": 2}))


if __name__ == "__main__" and sys.argv[1:2] == ["--grid"]:
    print(json.dumps(grid_here(json.loads(sys.argv[2]))))
