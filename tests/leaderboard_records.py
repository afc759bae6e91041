"""Fixed records for the leaderboard tests, and snapshot comparison.

The fixture board is CIFAR-10 with the paper's backbone label, so that its rows meet the
paper's Table 1 and Table 2 numbers: three methods (one of them reads labels), a method
the paper does not have started from zero labels (typiclust, a cold start), an iterative
paper method started from 10 random points (coreset), a cell with one seed missing, and a
class-histogram vector. ``variant_records`` adds rows of one method that started or ran
differently (the released code's K-means options), as the runner writes them.
Set ``LBAL_UPDATE_SNAPSHOTS=1`` to rewrite the snapshot files after a deliberate change.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lbal_bench.plugin_handle import fingerprint
from lbal_bench.store import SCHEMA_VERSION, Record, ResultStore

SNAPSHOTS = Path(__file__).parent / "snapshots"

# linear top-1 and coverage by method and budget, before a per-seed offset
LINEAR = {"kmeans": [35.0, 44.0, 52.0], "random": [20.0, 29.0, 38.0], "uniform": [40.0, 46.0, 53.0],
          "typiclust": [33.0, 44.0, 51.0], "coreset": [20.0, 27.0, 40.0]}
COVERAGE = {"kmeans": [80.0, 95.0, 100.0], "random": [60.0, 85.0, 100.0], "uniform": [100.0, 100.0, 100.0],
            "typiclust": [80.0, 90.0, 100.0], "coreset": [60.0, 90.0, 100.0]}
BUDGETS = [10, 20, 50]
ITERATIVE = {"coreset": "from 10 random"}  # started from the random initial pool; the rest from 0


def make_record(sampler: str = "kmeans", evaluator: str = "linear", seed: int = 0, budget: int = 10,
                metrics: dict | None = None, *, dataset: str = "cifar10", backbone: str = "resnet18_compress",
                options: dict | None = None, machine: str = "lab-a", start: str = "from 0",
                evaluator_options: dict | None = None, **fields) -> Record:
    """A sound record (its fingerprint matches its config) with the given display names;
    ``options`` and ``evaluator_options`` are shown as differing from the defaults."""
    config = {
        "dataset": {"name": dataset, "options": {}, "fingerprint": "data"},
        "backbone": {"name": backbone, "options": {}, "fingerprint": "weights"},
        "seed": seed,
        "sampler": {"name": sampler, "options": options or {}},
        "budget": budget,
        "selection": {"start": start},
        "evaluator": {"name": evaluator, "options": evaluator_options or {}},
    }
    key = fingerprint(config)
    plugins = {kind: {"name": name, "distribution": "lbal-bench", "version": "0.1.0"}
               for kind, name in (("dataset", dataset), ("backbone", backbone), ("sampler", sampler),
                                  ("evaluator", evaluator))}
    values = {
        "schema_version": SCHEMA_VERSION,
        "fingerprint": key,
        "config": config,
        "display": {"dataset": dataset, "backbone": backbone, "sampler": sampler, "evaluator": evaluator,
                    "start": start, "options": {"sampler": options or {}, "evaluator": evaluator_options or {}}},
        "uses_labels": sampler == "uniform",
        "metrics": metrics if metrics is not None else {"top1": 50.0},
        "selection": {"file": f"selections/{key}.npz", "count": budget, "labels_seen": 0},
        "timings": {"selection_s": 0.5, "evaluation_s": 1.5},
        "provenance": {
            "python": "3.11.7",
            "packages": {"lbal-bench": "0.1.0"},
            "git_revision": "0123456789abcdef0123456789abcdef01234567",
            "machine": {"node": machine, "platform": "Linux-x86_64", "processor": "x86_64"},
            "created": f"2024-03-0{seed + 1}T12:00:00+00:00",
            "suite": "fixture",
            "plugins": plugins,
        },
    }
    return Record(**{**values, **fields})


def fixed_records() -> list[Record]:
    """The fixture board's records (3 seeds; random at budget 50 has lost seed 2)."""
    records = []
    for method in LINEAR:
        start = ITERATIVE.get(method, "from 0")
        for seed in (0, 1, 2):
            for i, budget in enumerate(BUDGETS):
                if (method, budget, seed) == ("random", 50, 2):
                    continue
                records.append(make_record(method, "linear", seed, budget, {"top1": LINEAR[method][i] + seed},
                                           start=start))
                records.append(make_record(method, "coverage", seed, budget, start=start, metrics={
                    "coverage": min(100.0, COVERAGE[method][i] + 10 * (seed - 1))}))
                histogram = [max(0, 5 - i - seed), 3, 1 + seed] + [1] * (i + seed)
                records.append(make_record(method, "class_histogram", seed, budget, {"class_histogram": histogram},
                                           start=start))
    return records


RELEASED = {"nredo": 5, "init": "random"}  # the released code's K-means, not this version's defaults


def variant_records() -> list[Record]:
    """Linear records of one method three ways, on two datasets: kmeans with the defaults,
    kmeans run the released code's way (other sampler options, and the L2-only linear
    head), and typiclust from 0 and from 10 random points; 3 seeds, budgets 10, 20, 50.
    On ``cifar100`` the released-code kmeans is missing."""
    records = []
    ways = [("kmeans", "from 0", {}, {}, 0.0), ("kmeans", "from 0", RELEASED, {"normalise": "l2"}, 2.0),
            ("typiclust", "from 0", {}, {}, -1.0), ("typiclust", "from 10 random", {}, {}, -12.0)]
    for dataset in ("cifar10", "cifar100"):
        for method, start, options, evaluator_options, shift in ways:
            if dataset == "cifar100" and options:
                continue
            for seed in (0, 1, 2):
                for i, budget in enumerate(BUDGETS):
                    value = LINEAR[method][i] + shift + seed - (10.0 if dataset == "cifar100" else 0.0)
                    if start != "from 0" and i == 0:
                        value = LINEAR["random"][0] + seed  # its random initial pool
                    records.append(make_record(method, "linear", seed, budget, {"top1": value}, dataset=dataset,
                                               start=start, options=options, evaluator_options=evaluator_options))
    return records


def write_results(root: Path, records: list[Record]) -> Path:
    """A results directory holding ``records`` and a selection file for each."""
    store = ResultStore(root)
    for record in records:
        store.write(record)
        key = Path(record.selection["file"]).stem
        store.save_selection(key, np.arange(record.selection["count"]), 0.5, 0)
    return Path(root)


def check_snapshot(name: str, actual: str | bytes) -> None:
    """Compare ``actual`` with ``tests/snapshots/<name>`` (rewrite it when LBAL_UPDATE_SNAPSHOTS=1)."""
    path = SNAPSHOTS / name
    mode = "b" if isinstance(actual, bytes) else ""
    if os.environ.get("LBAL_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        with open(path, f"w{mode}") as handle:
            handle.write(actual)
    with open(path, f"r{mode}") as handle:
        expected = handle.read()
    assert actual == expected, f"{path} differs; rerun with LBAL_UPDATE_SNAPSHOTS=1 if the change is intended"
