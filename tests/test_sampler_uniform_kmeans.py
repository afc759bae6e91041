"""The ``uniform_kmeans`` sampler (paper Table 10's Uniform(K-means)): ``uniform``'s class
shares, K-means-selected inside each class."""

from __future__ import annotations

import numpy as np
import pytest

from sampler_contract import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

CASES = contract_cases()


def test_declares_that_it_reads_labels_and_is_single_batch():
    sampler = make_sampler("uniform_kmeans")
    assert sampler.uses_labels is True and sampler.iterative is False


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    pool, budget = CASES[case]
    check_contract(make_sampler("uniform_kmeans"), pool_of(pool.features, pool.labeled, pool.num_classes,
                                                           reveal_all=True), budget)


@pytest.mark.parametrize("budget", [1, 7, 30, 61])
@pytest.mark.parametrize("seed", [0, 1])
def test_class_counts_are_uniforms_for_the_same_seed(budget, seed):
    features, _ = blobs(20, 5)
    labels = np.repeat([0, 1, 2, 3, 4], [2, 3, 25, 35, 35])  # two classes too small for their share
    pool = pool_of(features, labeled=[0, 10, 50], num_classes=5, labels=labels, reveal_all=True)
    chosen = make_sampler("uniform_kmeans").select(pool, budget, np.random.default_rng(seed))
    assert_valid(chosen, pool, budget)
    by_uniform = make_sampler("uniform").select(pool, budget, np.random.default_rng(seed))
    assert list(np.bincount(labels[chosen], minlength=5)) == list(np.bincount(labels[by_uniform], minlength=5))


@pytest.mark.parametrize("seed", range(5))
def test_inside_a_class_it_picks_one_point_per_blob(seed):
    features, blob = blobs(30, 6, spread=0.3, seed=seed)  # classes 0, 1, 2 of two blobs each
    labels = blob // 2
    pool = pool_of(features, num_classes=3, labels=labels, reveal_all=True)
    chosen = make_sampler("uniform_kmeans").select(pool, 6, np.random.default_rng(seed))
    assert sorted(blob[chosen]) == [0, 1, 2, 3, 4, 5]


def test_a_class_whose_share_is_all_its_points_gives_them_all():
    features, _ = blobs(10, 3)
    labels = np.repeat([0, 1, 2], [2, 14, 14])
    pool = pool_of(features, num_classes=3, labels=labels, reveal_all=True)
    chosen = make_sampler("uniform_kmeans").select(pool, 9, np.random.default_rng(0))
    assert set(np.flatnonzero(labels == 0)) <= set(chosen.tolist())
    counts = np.bincount(labels[chosen])
    assert counts[0] == 2 and sorted(counts[1:]) == [3, 4]  # class 0's third share went to another class
