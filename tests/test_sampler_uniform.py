"""The ``uniform`` sampler: equal random counts per class, round-robin, exact budget."""

from __future__ import annotations

import numpy as np
import pytest

from lbal_bench import LabelOracle, Pool
from lbal_bench.plugins import get_registry
from sampler_contract import assert_valid


def uniform():
    return get_registry().create("sampler", "uniform", {})


def pool_of(class_sizes, labeled=(), dim: int = 4) -> Pool:
    """A pool whose class ``c`` has ``class_sizes[c]`` points; every feature row is the same."""
    labels = np.repeat(np.arange(len(class_sizes)), class_sizes)
    features = np.ones((len(labels), dim), np.float32) / np.sqrt(dim)  # duplicate rows everywhere
    labeled = np.asarray(labeled, dtype=np.int64)
    return Pool(features, labeled, len(class_sizes), LabelOracle(labels, labeled, reveal_all=True))


def class_counts(pool: Pool, chosen: np.ndarray) -> np.ndarray:
    return np.bincount(pool.oracle.labels(chosen), minlength=pool.num_classes)



def test_declares_that_it_reads_labels_and_is_single_batch():
    assert uniform().uses_labels is True and uniform().iterative is False


@pytest.mark.parametrize("budget", [1, 7, 23, 50, 197])
def test_large_classes_get_counts_within_one_of_each_other(budget):
    pool = pool_of([40] * 5, labeled=[0, 41, 199])
    chosen = uniform().select(pool, budget, np.random.default_rng(0))
    assert_valid(chosen, pool, budget)
    counts = class_counts(pool, chosen)
    assert counts.max() - counts.min() <= 1
    assert (counts >= budget // 5).all()


def test_small_classes_are_capped_and_the_others_share_their_quota():
    pool = pool_of([2, 3, 50, 50, 50])
    chosen = uniform().select(pool, 60, np.random.default_rng(1))
    assert_valid(chosen, pool, 60)
    counts = class_counts(pool, chosen)
    assert list(counts[:2]) == [2, 3]
    assert sorted(counts[2:]) == [18, 18, 19]


def test_labeled_points_shrink_their_class():
    labeled = np.arange(8)  # class 0 keeps 2 unlabeled points
    pool = pool_of([10, 10, 10], labeled=labeled)
    chosen = uniform().select(pool, 12, np.random.default_rng(2))
    assert_valid(chosen, pool, 12)
    assert list(class_counts(pool, chosen)) == [2, 5, 5]


def test_budget_equal_to_the_unlabeled_count_takes_them_all():
    pool = pool_of([1, 6, 3], labeled=[2, 5])
    chosen = uniform().select(pool, 8, np.random.default_rng(0))
    assert_valid(chosen, pool, 8)
    assert sorted(chosen) == list(pool.unlabeled)


def test_deterministic_for_a_seed_and_nested_across_budgets():
    pool = pool_of([30, 20, 25, 5])
    a = uniform().select(pool, 31, np.random.default_rng(7))
    b = uniform().select(pool, 31, np.random.default_rng(7))
    larger = uniform().select(pool, 50, np.random.default_rng(7))
    other = uniform().select(pool, 31, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert list(larger[:31]) == list(a)
    assert set(other) != set(a)


def test_which_classes_get_the_remainder_is_random():
    pool = pool_of([10] * 4)
    extra = {int(np.argmax(class_counts(pool, uniform().select(pool, 5, np.random.default_rng(s))))) for s in range(20)}
    assert len(extra) > 1


def test_points_inside_a_class_are_random_not_the_first_ones():
    pool = pool_of([100, 100])
    chosen = uniform().select(pool, 10, np.random.default_rng(0))
    assert sorted(chosen) != [0, 1, 2, 3, 4, 100, 101, 102, 103, 104]
    assert chosen[pool.oracle.labels(chosen) == 0].max() > 20
