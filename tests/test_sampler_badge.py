"""The ``badge`` sampler: k-means++ seeding on the gradient embeddings of a linear head."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, blobs, make_sampler, pool_of

from lbal_bench.testing import sampler_checks
from lbal_plugins.samplers.badge import gradient_factors, kmeanspp_on_products


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
def test_conformance(check):
    check.run(make_sampler("badge"))


def test_an_empty_labeled_set_is_refused_with_the_exact_message():
    with pytest.raises(ValueError) as caught:
        make_sampler("badge").select(pool_of(blobs(5, 2)[0]), 3, np.random.default_rng(0))
    assert str(caught.value) == "badge needs an initial labeled pool"


def test_distances_on_factors_equal_those_of_the_full_embeddings():
    rng = np.random.default_rng(0)
    logits, inputs = rng.normal(size=(30, 4)), rng.normal(size=(30, 6))
    a, h = gradient_factors(logits, inputs)
    full = np.einsum("ic,id->icd", a, h).reshape(30, -1)  # the C × D gradient embeddings
    assert np.allclose(a.sum(axis=1), 0)  # onehot - softmax
    chosen = kmeanspp_on_products(a, h, 8, np.random.default_rng(1))
    assert chosen[0] == np.argmax((full ** 2).sum(1))  # the largest gradient first
    assert len(set(chosen.tolist())) == 8


def test_later_picks_are_drawn_by_squared_distance_to_the_chosen_ones():
    """Three far-apart groups of embeddings: each of the first three picks is in a new group."""
    a = np.repeat(np.eye(3), 10, axis=0) + 0.01 * np.random.default_rng(0).normal(size=(30, 3))
    h = np.ones((30, 2))
    for seed in range(10):
        chosen = kmeanspp_on_products(a, h, 3, np.random.default_rng(seed))
        assert sorted(chosen // 10) == [0, 1, 2]


def test_batches_are_more_diverse_than_margin_sampling():
    features, blob = blobs(40, 8, dim=16, spread=1.0, seed=2)
    labeled = np.arange(0, len(features), 40)  # one point per blob
    pool = pool_of(features, labeled, 8, blob)
    badge = make_sampler("badge").select(pool, 16, np.random.default_rng(0))
    margin = make_sampler("margin").select(pool, 16, np.random.default_rng(0))
    assert_valid(badge, pool, 16)
    assert len(set(blob[badge])) >= len(set(blob[margin]))
    assert pool.oracle.requests() == 2 * len(labeled)


def test_duplicate_rows_are_handled():
    features = np.repeat(np.eye(3, 6, dtype=np.float32), 10, axis=0)
    pool = pool_of(features, [0, 10, 20], 3, np.repeat(np.arange(3), 10))
    chosen = make_sampler("badge", epochs=5).select(pool, 27, np.random.default_rng(0))
    assert sorted(chosen) == sorted(pool.unlabeled)
