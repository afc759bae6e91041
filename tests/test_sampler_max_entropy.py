"""The ``max_entropy`` sampler: a linear head on the labeled set, highest-entropy picks."""

from __future__ import annotations

import numpy as np
import pytest

from lbal_bench import LabelOracle, Pool
from lbal_bench.plugins import get_registry
from lbal_plugins.samplers.max_entropy import entropy
from sampler_contract import assert_valid


def max_entropy(**options):
    return get_registry().create("sampler", "max_entropy", options)


def line_pool(n: int = 201, dim: int = 32):
    """Points on a line in ``dim`` dimensions, class = which half; labeled away from the middle.

    The head is linear, so its logits are affine in the position ``x`` along the line and
    the entropy falls with the distance to one boundary point: the picks must be the
    unlabeled points nearest that point, a run of consecutive ``x``.
    """
    rng = np.random.default_rng(0)
    x = np.linspace(-1, 1, n)
    features = (np.outer(x, rng.normal(size=dim)) + rng.normal(size=dim)).astype(np.float32)
    labels = (x > 0).astype(np.int64)
    labeled = np.flatnonzero((np.abs(x) >= 0.2) & (np.arange(n) % 4 == 0))
    return Pool(features, labeled, 2, LabelOracle(labels, labeled)), x



def test_declares_iterative_and_label_free():
    assert max_entropy().iterative is True and max_entropy().uses_labels is False


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_picks_the_points_nearest_the_decision_boundary(seed):
    pool, x = line_pool()
    chosen = max_entropy().select(pool, 10, np.random.default_rng(seed))
    assert_valid(chosen, pool, 10)
    positions = np.sort(np.searchsorted(pool.unlabeled, chosen))
    assert list(positions) == list(range(positions[0], positions[0] + 10))  # one run along the line
    assert np.abs(x[chosen]).max() < 0.2  # inside the gap between the two labeled classes


def test_reads_only_the_labels_of_the_labeled_set():
    pool, _ = line_pool()
    max_entropy(epochs=5).select(pool, 10, np.random.default_rng(0))  # the oracle raises on a leak
    assert pool.oracle.requests() == len(pool.labeled)


def test_deterministic_for_a_seed():
    pool, _ = line_pool()
    a = max_entropy(epochs=10).select(pool, 15, np.random.default_rng(4))
    b = max_entropy(epochs=10).select(pool, 15, np.random.default_rng(4))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("budget", [1, 161])
def test_budget_of_one_and_of_every_unlabeled_point(budget):
    pool, _ = line_pool()
    chosen = max_entropy(epochs=2).select(pool, budget, np.random.default_rng(0))
    assert_valid(chosen, pool, budget)
    if budget == len(pool.unlabeled):
        assert sorted(chosen) == list(pool.unlabeled)


def test_duplicate_rows_and_more_classes_than_seen():
    rng = np.random.default_rng(0)
    features = np.repeat(rng.normal(size=(10, 8)).astype(np.float32), 6, axis=0)
    labels = np.repeat(np.arange(10) % 5, 6)
    labeled = np.arange(0, 60, 7)
    pool = Pool(features, labeled, 5, LabelOracle(labels, labeled))
    chosen = max_entropy(epochs=5, standardise=False).select(pool, 20, np.random.default_rng(0))
    assert_valid(chosen, pool, 20)


def test_an_empty_labeled_set_is_refused():
    features = np.eye(4, dtype=np.float32)
    pool = Pool(features, np.empty(0, np.int64), 2, LabelOracle(np.zeros(4, np.int64), np.empty(0, np.int64)))
    with pytest.raises(ValueError, match="max_entropy needs an initial labeled pool"):
        max_entropy().select(pool, 2, np.random.default_rng(0))


def test_entropy_is_highest_for_uniform_predictions_and_stable_for_large_logits():
    h = entropy(np.array([[0.0, 0.0, 0.0], [1000.0, 0.0, 0.0], [2.0, 1.0, 0.0]], np.float32))
    assert h[0] == pytest.approx(np.log(3)) and h[1] == 0.0 and 0 < h[2] < h[0]


def test_standardise_is_the_default_and_changes_the_head_s_input():
    assert max_entropy().standardise is True
    pool, _ = line_pool()
    rng = np.random.default_rng(0)
    features = (np.asarray(pool.features) * rng.uniform(0.01, 10, pool.features.shape[1])).astype(np.float32)
    scaled = Pool(features, pool.labeled, 2, pool.oracle)
    picks = {flag: max_entropy(standardise=flag, epochs=20).select(scaled, 10, np.random.default_rng(1))
             for flag in (True, False)}
    assert not np.array_equal(np.sort(picks[True]), np.sort(picks[False]))
