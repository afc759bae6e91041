"""The reference samplers and evaluators through their public contracts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lbal_bench import LabelLeakError, LabelOracle, Pool
from lbal_bench.kit.compute import nearest_unique
from lbal_bench.plugins import get_registry
from lbal_bench.testing import assert_conforms
from lbal_bench.kit.training import fit_linear
from sampler_contract import blobs, check_contract, contract_cases, make_sampler

CASES = contract_cases()


def make(kind: str, name: str, **options):
    return get_registry().create(kind, name, options)


def pool_of(features: np.ndarray, labels: np.ndarray | None = None, labeled=()) -> Pool:
    labels = np.zeros(len(features), dtype=np.int64) if labels is None else labels
    labeled = np.asarray(labeled, dtype=np.int64)
    return Pool(features=features, labeled=labeled, num_classes=int(labels.max()) + 1, oracle=LabelOracle(labels, labeled))


REFERENCE_SAMPLERS = [p.name for p in get_registry().all() if p.kind == "sampler" and p.distribution == "lbal-bench"]


@pytest.mark.parametrize("name", ["random", "kmeans"])
@pytest.mark.parametrize("case", CASES)
def test_contract(name, case):
    check_contract(make_sampler(name), *CASES[case])


@pytest.mark.parametrize("name", REFERENCE_SAMPLERS)
def test_reference_sampler_passes_the_third_party_conformance_checks(name):
    assert_conforms(make_sampler(name))  # the same checks as `lbal-bench check NAME`


@pytest.mark.parametrize("budget", [1, 20, 199, 200])
def test_kmeans_returns_exactly_budget_unique_points_even_with_duplicates(budget):
    distinct = np.eye(5, 8, dtype=np.float32)
    features = np.repeat(distinct, 40, axis=0)  # 200 points, only 5 distinct
    chosen = make("sampler", "kmeans").select(pool_of(features), budget, np.random.default_rng(0))
    assert len(chosen) == budget and len(np.unique(chosen)) == budget
    assert chosen.min() >= 0 and chosen.max() < 200


def test_kmeans_picks_one_point_per_blob_for_most_seeds():
    """K-means can merge two blobs for an unlucky seed (a local optimum), so over 20 seeds:
    nearly every seed covers all 6 blobs, and never fewer than random's best."""
    features, labels = blobs(50, 6)
    kmeans = make("sampler", "kmeans")
    hits = [len(set(labels[kmeans.select(pool_of(features, labels), 6, np.random.default_rng(seed))]))
            for seed in range(20)]
    assert hits.count(6) >= 14 and min(hits) >= 5


def test_kmeans_skips_labeled_points():
    features, labels = blobs(20, 3)
    labeled = np.arange(0, 60, 2)
    chosen = make("sampler", "kmeans").select(pool_of(features, labels, labeled), 10, np.random.default_rng(0))
    assert not np.intersect1d(chosen, labeled).size


def test_nearest_unique_gives_a_shared_nearest_point_to_the_closer_centre():
    points = np.array([[0.0, 0], [1, 0], [5, 0]], dtype=np.float32)
    centres = np.array([[0.4, 0], [0.1, 0]], dtype=np.float32)
    assert list(nearest_unique(points, centres)) == [1, 0]
    assert list(nearest_unique(points, centres, taken=np.array([0]))) == [1, 2]


def test_random_is_nested_across_budgets_for_a_seed():
    features, _ = blobs(30, 2)
    sampler = make("sampler", "random")
    small = sampler.select(pool_of(features), 5, np.random.default_rng(3))
    large = sampler.select(pool_of(features), 20, np.random.default_rng(3))
    assert list(large[:5]) == list(small)


def test_oracle_reveals_labeled_points_only_and_counts_requests():
    oracle = LabelOracle(np.array([3, 1, 2, 0]), labeled=np.array([1, 2]))
    assert list(oracle.labels([1, 2])) == [1, 2]
    with pytest.raises(LabelLeakError, match="asked for the labels of 1 unlabeled point"):
        oracle.labels([0, 1])
    assert oracle.requests() == 2
    assert not any(isinstance(v, np.ndarray) for v in vars(oracle).values())


def test_knn_is_perfect_on_separated_blobs_and_votes_with_k():
    x, y = blobs(20, 4)
    train, test = np.arange(0, 80, 4), np.setdiff1d(np.arange(80), np.arange(0, 80, 4))
    for k in (1, 3):
        metrics = make("evaluator", "knn", k=k).evaluate(x[train], y[train], x[test], y[test], 4, np.random.default_rng(0))
        assert metrics == {"top1": 100.0}


def test_knn_rejects_k_zero():
    with pytest.raises(Exception, match=r"option .k. must be int \(>= 1\), got 0"):
        make("evaluator", "knn", k=0)


def test_linear_learns_and_is_deterministic_on_cpu():
    x, y = blobs(40, 3, dim=16)
    train = np.arange(0, 120, 3)
    test = np.setdiff1d(np.arange(120), train)
    linear = make("evaluator", "linear", epochs=20, batch_size=4)
    a = linear.evaluate(x[train], y[train], x[test], y[test], 3, np.random.default_rng(1))
    b = linear.evaluate(x[train], y[train], x[test], y[test], 3, np.random.default_rng(1))
    assert a == b and a["top1"] > 95


def test_linear_handles_a_single_label():
    x, y = blobs(5, 2)
    metrics = make("evaluator", "linear", epochs=2).evaluate(x[:1], y[:1], x, y, 2, np.random.default_rng(0))
    assert metrics == {"top1": 50.0}


def test_coverage_counts_classes_seen():
    metrics = make("evaluator", "coverage").evaluate(None, np.array([0, 0, 3]), None, None, 4, None)
    assert metrics == {"coverage": 50.0}


def test_kmeans_covers_more_classes_than_random_on_separated_clusters():
    features, labels = blobs(40, 10, dim=16, spread=0.5)
    pool = pool_of(features, labels)

    def coverage(name: str, seed: int) -> int:
        return len(np.unique(labels[make_sampler(name).select(pool, 10, np.random.default_rng(seed))]))

    kmeans = [coverage("kmeans", seed) for seed in range(5)]
    random = [coverage("random", seed) for seed in range(5)]
    assert min(kmeans) >= 9 and np.mean(kmeans) > np.mean(random) + 2


def test_class_histogram_counts_classes_by_number_of_labels():
    # classes 0..4: class 0 has 3 labels, class 1 has 1, class 3 has 1, classes 2 and 4 none
    metrics = make("evaluator", "class_histogram").evaluate(None, np.array([0, 0, 1, 0, 3]), None, None, 5, None)
    assert metrics == {"classes_with_n_labels": [2, 2, 0, 1]}


def test_linear_protocol_drops_the_learning_rate_at_epochs_50_and_75():
    x, y = blobs(5, 2)
    head = fit_linear(x, y, 2, seed=0, epochs=100, lr=0.01, milestones=(50, 75))
    assert head.epoch_lrs[:50] == [0.01] * 50
    assert np.allclose(head.epoch_lrs[50:75], 0.001) and np.allclose(head.epoch_lrs[75:], 0.0001)


def test_mean_per_class_differs_from_top1_on_an_imbalanced_test_set():
    # class 0 is learnable; class 1 test points sit among class 0: top-1 is dominated by class 0
    rng = np.random.default_rng(0)
    train_x = np.concatenate([rng.normal(0, 0.1, (10, 4)), rng.normal(3, 0.1, (10, 4))]).astype(np.float32)
    train_y = np.repeat([0, 1], 10)
    test_x = np.concatenate([rng.normal(0, 0.1, (90, 4)), rng.normal(0, 0.1, (10, 4))]).astype(np.float32)
    test_y = np.repeat([0, 1], [90, 10])
    metrics = make("evaluator", "linear", epochs=20, mean_per_class=True).evaluate(
        train_x, train_y, test_x, test_y, 2, np.random.default_rng(0))
    assert list(metrics) == ["mean_per_class", "top1"]
    assert metrics == {"mean_per_class": 50.0, "top1": 90.0}


def test_linear_beats_chance_clearly_on_digits_at_100_labels(cli, tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: d\ndatasets: [digits]\nbackbones: [pixels]\nsamplers: [random]\nbudgets: [100]\n"
        "seeds: [0]\nevaluators: [{name: linear, options: {batch_size: 4}}]\n"
    )
    assert cli("run", str(suite)).exit_code == 0
    (record,) = [json.loads(p.read_text()) for p in Path("results/d/records").glob("*.json")]
    assert record["metrics"]["top1"] > 80  # chance is 10%
