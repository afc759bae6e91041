"""The ``margin`` sampler: the unlabeled points whose two most probable classes are closest."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, make_sampler, pool_of
from test_sampler_max_entropy import line_pool

from lbal_bench.testing import sampler_checks
from lbal_plugins.samplers._uncertainty import least_confidence, margin_uncertainty


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
def test_conformance(check):
    check.run(make_sampler("margin"))


def test_declares_iterative_label_free_and_no_cold_start():
    sampler = make_sampler("margin")
    assert sampler.iterative is True and sampler.uses_labels is False
    assert getattr(sampler, "cold_start", False) is False


def test_an_empty_labeled_set_is_refused():
    with pytest.raises(ValueError, match="^margin needs an initial labeled pool$"):
        make_sampler("margin").select(pool_of(np.eye(4, dtype=np.float32)), 2, np.random.default_rng(0))


@pytest.mark.parametrize("seed", [0, 1])
def test_picks_the_points_nearest_the_decision_boundary(seed):
    pool, x = line_pool()
    chosen = make_sampler("margin").select(pool, 10, np.random.default_rng(seed))
    assert_valid(chosen, pool, 10)
    assert np.abs(x[chosen]).max() < 0.2  # inside the gap between the two labeled classes
    assert pool.oracle.requests() == len(pool.labeled)


def test_the_score_is_one_minus_the_top_two_gap():
    logits = np.log(np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [0.9, 0.05, 0.05]]))
    np.testing.assert_allclose(margin_uncertainty(logits), [0.8, 1.0, 0.15])
    # where least confidence and margin disagree: p = (0.45, 0.45, 0.1) has the smaller
    # margin, p = (0.4, 0.3, 0.3) the lower confidence
    two = np.log(np.array([[0.45, 0.45, 0.1], [0.4, 0.3, 0.3]]))
    assert np.argmax(margin_uncertainty(two)) == 0 and np.argmax(least_confidence(two)) == 1
