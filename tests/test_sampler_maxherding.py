"""The ``maxherding`` sampler: greedy Gaussian-kernel coverage, from zero labels or not."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

from lbal_bench.testing import sampler_checks
from lbal_plugins.samplers.maxherding import candidate_count, gaussian_kernel, herding

CASES = contract_cases()


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
def test_conformance(check):
    check.run(make_sampler("maxherding"))


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("maxherding"), *CASES[case])


def test_covers_more_classes_than_random_from_zero_labels():
    features, blob = blobs(40, 10, dim=16, spread=1.5, seed=1)
    pool = pool_of(features, (), 10, blob)
    chosen = make_sampler("maxherding").select(pool, 10, np.random.default_rng(0))
    assert_valid(chosen, pool, 10)
    assert len(set(blob[chosen])) == 10
    random_classes = [len(set(blob[np.random.default_rng(s).choice(len(blob), 10, replace=False)])) for s in range(20)]
    assert np.mean(random_classes) < 9
    assert pool.info == {"kernel_width": 1.0, "candidates": 400}


def test_the_first_pick_from_zero_labels_is_the_densest_point():
    features, _ = blobs(30, 3, seed=4)
    kernel = gaussian_kernel(features, 1.0).astype(np.float64)
    chosen = make_sampler("maxherding").select(pool_of(features), 1, np.random.default_rng(0))
    assert chosen[0] == np.argmax(kernel.sum(axis=1))


def test_incremental_gains_pick_what_recomputing_every_gain_picks():
    rng = np.random.default_rng(0)
    kernel = gaussian_kernel(blobs(25, 4, seed=5)[0], 0.5)
    taken = np.zeros(len(kernel), dtype=bool)
    taken[[3, 40]] = True
    weights = rng.uniform(0, 1, len(kernel))
    picks, m, k = [], kernel[taken].max(axis=0).astype(np.float64), kernel.astype(np.float64)
    for _ in range(15):
        gain = np.clip(k - m, 0, None) @ weights
        gain[taken] = -np.inf
        gain[picks] = -np.inf
        picks.append(int(np.argmax(gain)))
        m = np.maximum(m, k[picks[-1]])
    assert list(herding(kernel, taken, 15, weights)) == picks


def test_a_large_pool_is_subsampled_to_the_reference_candidate_count():
    assert candidate_count(0, 10) == 35_000 and candidate_count(0, 10, cap=500) == 500
    assert candidate_count(10_000, 10_000) < 35_000 and candidate_count(0, 40_000) == 40_000
    features, _ = blobs(100, 4, seed=6)
    pool = pool_of(features, [0, 1])
    chosen = make_sampler("maxherding", subset_size=50).select(pool, 5, np.random.default_rng(0))
    assert_valid(chosen, pool, 5)
    assert pool.info["candidates"] == 52  # the labeled points and 50 unlabeled ones
