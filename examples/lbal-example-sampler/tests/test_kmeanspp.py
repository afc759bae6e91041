"""The sampler's own tests: lbal-bench's conformance checks, then its behaviour."""

import numpy as np
import pytest

from lbal_bench import LbalError
from lbal_bench.testing import blobs, make_sampler, pool_of, sampler_checks
from lbal_example_sampler import KMeansPlusPlus


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
@pytest.mark.parametrize("trials", [1, 3])
def test_conformance(check, trials):
    check.run(KMeansPlusPlus(trials=trials))


def test_first_picks_cover_separated_blobs():
    features, blob = blobs(50, 5)
    chosen = KMeansPlusPlus(trials=3).select(pool_of(features), 5, np.random.default_rng(0))
    assert sorted(blob[chosen]) == [0, 1, 2, 3, 4]


def test_labeled_blobs_are_avoided():
    features, blob = blobs(50, 3)
    labeled = np.flatnonzero(blob < 2)[::10]  # blobs 0 and 1 have labels already
    chosen = KMeansPlusPlus(trials=3).select(pool_of(features, labeled), 1, np.random.default_rng(0))
    assert blob[chosen[0]] == 2


def test_trials_must_be_positive_as_a_suite_would_build_it():
    with pytest.raises(LbalError, match=r"option 'trials' must be int \(>= 1\), got 0"):
        make_sampler("kmeanspp", trials=0)
