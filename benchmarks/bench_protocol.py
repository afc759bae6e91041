"""Protocol choices: the measured effect of each option that moves a number.

One row per (choice, setting, dataset): the sampler (or evaluator) built through the
registry with those options, run as the runner runs it, over many seeds, and the mean ±
std of 1-NN accuracy and coverage (and linear top-1 where the choice is the linear
head's) at a budget of about the number of classes. The table in docs/protocol.md,
"Protocol choices", comes from this file.

- digits: scikit-learn's digits, raw pixels L2-normalised (the default suite's pool,
  1,347 points, 10 classes; test split 450).
- synthetic: the ``synthetic`` dataset, 5,000 × 64, 20 classes with a 10:1 class
  imbalance (where a K-means that misses a small cluster shows), test split balanced.

Single-batch samplers select ``budget`` points from nothing; iterative ones run the
chain their protocol runs (cold-start ones from zero labels, the others from 10 random
points), step by step with one generator per step, as the runner.

Run: ``OMP_NUM_THREADS=1 pytest benchmarks/bench_protocol.py -q -s`` (a table per choice; about 20 minutes
on 2 cores). ``-k typiclust`` and so on run one choice.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
from conftest import one_thread

from lbal_bench import LabelOracle, Pool
from lbal_bench.features import l2_normalise
from lbal_bench.plugins import get_registry

SEEDS = 30


@functools.lru_cache(maxsize=None)
def dataset(name: str) -> dict:
    """``train``/``test`` features and labels of a benchmark dataset, L2-normalised."""
    registry = get_registry()
    if name == "digits":
        data = registry.create("dataset", "digits", {})
        embed = registry.create("backbone", "pixels", {}).embed
        splits = {s: (embed(data.split(s).images), data.split(s).labels) for s in ("train", "test")}
    else:
        data = registry.create("dataset", "synthetic", {"train_size": 5000, "test_size": 2000, "dim": 64,
                                                        "num_classes": 20, "imbalance": 10.0})
        splits = {s: (data.split(s).features, data.split(s).labels) for s in ("train", "test")}
    out = {s: (l2_normalise(x), np.asarray(y)) for s, (x, y) in splits.items()}
    return {**out, "num_classes": data.num_classes}


def chain(sampler_name: str, options: dict, data: dict, budgets: list[int], seed: int,
          initial: int = 0) -> tuple[list[np.ndarray], list[dict]]:
    """The labeled set after each budget, and each step's ``pool.info``, for one seed."""
    sampler = get_registry().create("sampler", sampler_name, options)
    x, y = data["train"]
    labeled = np.random.default_rng([seed, 99]).permutation(len(x))[:initial] if initial else np.empty(0, np.int64)
    sets, infos = [], []
    for step, budget in enumerate(budgets):
        oracle = LabelOracle(y, labeled, reveal_all=getattr(sampler, "uses_labels", False))
        pool = Pool(x, labeled, data["num_classes"], oracle)
        increment = budget - len(labeled) if getattr(sampler, "iterative", False) else budget
        picks = sampler.select(pool, increment, np.random.default_rng([seed, step]))
        labeled = np.concatenate([labeled, picks]) if getattr(sampler, "iterative", False) else picks
        sets.append(labeled.copy())
        infos.append(dict(pool.info))
    return sets, infos


def evaluate(labeled: np.ndarray, data: dict, seed: int, evaluators: dict) -> dict:
    """Metrics of one labeled set: ``{label: value}`` for each evaluator given."""
    x, y = data["train"]
    test_x, test_y = data["test"]
    out = {}
    for label, (name, options, key) in evaluators.items():
        evaluator = get_registry().create("evaluator", name, options)
        result = evaluator.evaluate(x[labeled], y[labeled], test_x, test_y, data["num_classes"],
                                    np.random.default_rng(seed))
        out[label] = result[key]
    return out


KNN_COVERAGE = {"1-NN": ("knn", {}, "top1"), "coverage": ("coverage", {}, "coverage")}


def measure(sampler_name: str, options: dict, dataset_name: str, budgets: list[int], seeds: int,
            initial: int = 0, evaluators: dict = KNN_COVERAGE) -> dict:
    """Mean, std and seed count of every metric at the last budget, and the time per seed."""
    data = dataset(dataset_name)
    values, infos, start = [], [], time.perf_counter()
    for seed in range(seeds):
        sets, info = chain(sampler_name, options, data, budgets, seed, initial)
        values.append(evaluate(sets[-1], data, seed, evaluators))
        infos.append(info)
    stats = {m: (float(np.mean([v[m] for v in values])), float(np.std([v[m] for v in values])))
             for m in values[0]}
    return {"stats": stats, "seeds": seeds, "seconds": (time.perf_counter() - start) / seeds, "infos": infos}


_tables: dict[str, list[str]] = {}


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """One torch/faiss thread: on a shared machine OpenMP threads waiting for busy cores made
    the small distance blocks of the δ rule 50× slower (run with ``OMP_NUM_THREADS=1`` too)."""
    with one_thread():
        yield


@pytest.fixture(scope="module", autouse=True)
def print_tables():
    yield
    for choice, lines in _tables.items():
        print(f"\n{choice}\n| setting | dataset | budget | seeds | mean ± std | s/seed |\n|:--|:--|--:|--:|:--|--:|")
        print("\n".join(lines))


def record(choice: str, setting: str, dataset_name: str, budget, result: dict, extra: str = ""):
    metrics = "; ".join(f"{m} {mean:.1f} ± {std:.1f}" for m, (mean, std) in result["stats"].items())
    line = f"| {setting} | {dataset_name} | {budget} | {result['seeds']} | {metrics}{extra} | {result['seconds']:.2f} |"
    _tables.setdefault(choice, []).append(line)
    print(f"\n{choice}: {line}", flush=True)  # as it comes, for long runs (-s)


BUDGET_AT_CLASSES = {"digits": 10, "synthetic": 20}

PAPER_KMEANS = {"init": "random", "nredo": 5}
CLUSTERING = {  # issue 18 items 2 and 5 (issue 15's TypiClust gap), at k = the number of classes, 30 seeds
    ("kmeans", "K-means seeding"): {
        "greedy k-means++, nredo 1 (default)": {},
        "paper: random init, nredo 5": PAPER_KMEANS,
        "afkmc2, nredo 1 (the former default)": {"init": "afkmc2", "nredo": 1},
        "released code: random, nredo 5, fixed_seed": {**PAPER_KMEANS, "fixed_seed": True},
    },
    ("typiclust", "clustering, from 0 labels"): {
        "greedy k-means++, nredo 1 (default)": {},
        "paper K-means: random init, nredo 5": PAPER_KMEANS,
        "reference: scikit-learn KMeans / MiniBatchKMeans": {"backend": "sklearn"},
    },
}


@pytest.mark.parametrize("dataset_name", BUDGET_AT_CLASSES)
@pytest.mark.parametrize(("sampler", "choice", "setting"),
                         [(*key, setting) for key, settings in CLUSTERING.items() for setting in settings])
def test_clustering(sampler, choice, setting, dataset_name):
    budget = BUDGET_AT_CLASSES[dataset_name]
    result = measure(sampler, CLUSTERING[sampler, choice][setting], dataset_name, [budget], SEEDS)
    record(f"{sampler}: {choice}", setting, dataset_name, budget, result)


PROBCOVER = {  # issue 18 item 4: cold start, then steps
    "auto-once (paper, default)": {"delta": "auto-once"},
    "auto-per-step": {"delta": "auto-per-step"},
}


@pytest.mark.parametrize("dataset_name", BUDGET_AT_CLASSES)
@pytest.mark.parametrize("setting", PROBCOVER)
def test_probcover(setting, dataset_name):
    first = BUDGET_AT_CLASSES[dataset_name]
    budgets = [first, 2 * first, 5 * first]
    result = measure("probcover", PROBCOVER[setting], dataset_name, budgets, 10)
    deltas = sorted({round(i["delta"], 3) for info in result["infos"] for i in info})
    record("probcover: δ rule, from 0 labels", setting, dataset_name, "→".join(map(str, budgets)), result,
           f"; δ used {deltas}")


FROM_RANDOM = {  # issue 18 items 3 and 6: iterative samplers that need labels, from 10 (20) random points
    ("max_entropy", "head input"): {"standardise (default)": {"standardise": True},
                                    "raw features (released code)": {"standardise": False}},
    ("vaal", "batch size"): {"batch 128 (vaal/arguments.py, default)": {"batch_size": 128},
                             "batch 64": {"batch_size": 64}},
}


@pytest.mark.parametrize("dataset_name", BUDGET_AT_CLASSES)
@pytest.mark.parametrize(("sampler", "choice", "setting"),
                         [(*key, setting) for key, settings in FROM_RANDOM.items() for setting in settings])
def test_from_random(sampler, choice, setting, dataset_name):
    first = BUDGET_AT_CLASSES[dataset_name]
    result = measure(sampler, FROM_RANDOM[sampler, choice][setting], dataset_name, [2 * first], 10, initial=first)
    record(f"{sampler}: {choice}, from random", setting, dataset_name, f"{first}→{2 * first}", result)


def linear_settings() -> dict:
    """The linear evaluator's normalisation options, when the plugin has them."""
    import inspect

    factory = get_registry().get("evaluator", "linear").factory
    parameter = inspect.signature(factory).parameters.get("normalise")
    if parameter is None:
        return {}
    return {f"normalise {value}": {"normalise": value} for value in ("standardise", "l2")}


@pytest.mark.parametrize("dataset_name", BUDGET_AT_CLASSES)
@pytest.mark.parametrize("setting", ["normalise standardise", "normalise l2"])
def test_linear(setting, dataset_name):
    settings = linear_settings()
    if setting not in settings:
        pytest.skip("the linear evaluator has no 'normalise' option here")
    budget = BUDGET_AT_CLASSES[dataset_name]
    evaluators = {"linear": ("linear", {"batch_size": 4, **settings[setting]}, "top1")}
    result = measure("kmeans", {}, dataset_name, [budget], 10, evaluators=evaluators)
    record("linear: normalisation, on K-means picks", setting, dataset_name, budget, result)
