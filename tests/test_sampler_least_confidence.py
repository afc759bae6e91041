"""The ``least_confidence`` sampler: the unlabeled points with the least probable prediction."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, make_sampler, pool_of
from test_sampler_max_entropy import line_pool

from lbal_bench.testing import sampler_checks
from lbal_plugins.samplers._uncertainty import least_confidence


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
def test_conformance(check):
    check.run(make_sampler("least_confidence"))


def test_an_empty_labeled_set_is_refused():
    with pytest.raises(ValueError, match="^least_confidence needs an initial labeled pool$"):
        make_sampler("least_confidence").select(pool_of(np.eye(4, dtype=np.float32)), 2, np.random.default_rng(0))


def test_picks_the_points_nearest_the_decision_boundary():
    pool, x = line_pool()
    chosen = make_sampler("least_confidence").select(pool, 10, np.random.default_rng(0))
    assert_valid(chosen, pool, 10)
    assert np.abs(x[chosen]).max() < 0.2


def test_the_score_is_one_minus_the_top_probability():
    logits = np.log(np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [1.0, 1e-12, 1e-12]]))
    np.testing.assert_allclose(least_confidence(logits), [0.5, 0.1, 0.0], atol=1e-9)
