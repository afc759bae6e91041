"""The ``dcom`` sampler: per-point radii, density early and margin once coverage is high."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

from lbal_bench.testing import sampler_checks
from lbal_plugins.samplers.dcom import ball_radii, competence

CASES = contract_cases()


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
def test_conformance(check):
    check.run(make_sampler("dcom"))


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("dcom"), *CASES[case])


def greedy_ball_cover(features: np.ndarray, delta: float, budget: int) -> list[int]:
    """Brute force ProbCover from zero labels: the ball holding the most uncovered points."""
    d = np.linalg.norm(features[:, None].astype(np.float64) - features[None], axis=-1)
    adjacency, covered, picks = d < delta, np.zeros(len(features), bool), []
    for _ in range(budget):
        counts = (adjacency & ~covered[None]).sum(axis=1)
        counts[picks] = -1
        picks.append(int(np.argmax(counts)))
        covered |= adjacency[picks[-1]]
    return picks


def test_from_zero_labels_it_is_probcover_with_the_initial_delta():
    features, blob = blobs(30, 5, dim=8, spread=1.0, seed=2)
    pool = pool_of(features, (), 5, blob)
    chosen = make_sampler("dcom", initial_delta=0.5).select(pool, 8, np.random.default_rng(0))
    assert list(chosen) == greedy_ball_cover(features, 0.5, 8)
    assert pool.info == {"delta_avg": 0.5, "coverage": 0.0, "competence": 0.0}
    assert sorted(set(blob[chosen[:5]])) == list(range(5))


def test_competence_is_the_reference_logistic():
    assert competence(0.0, 50, 0.8) == 0.0 and competence(1.0, 50, 0.8) == 1.0
    assert competence(0.8, 50, 0.8) == round((1 + np.exp(-10)) / 2, 3)


def test_radii_grow_until_the_ball_is_no_longer_pure_enough():
    # centre at 0 with label 0; points at distances 0.1 .. 1.0, pseudo-labels 0 up to 0.5
    distances = np.array([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]])
    pseudo = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    radius = ball_radii(distances, np.array([0]), pseudo, threshold=0.99, max_delta=1.1, resolution=0.05)[0]
    assert 0.5 < radius <= 0.6 + 0.05  # the purest large ball stops near the first foreign point
    looser = ball_radii(distances, np.array([0]), pseudo, threshold=0.5, max_delta=1.1, resolution=0.05)[0]
    assert looser > radius


def test_with_labels_it_records_its_radii_and_competence():
    features, blob = blobs(30, 4, dim=8, spread=1.0, seed=3)
    labeled = np.arange(0, 120, 6)
    pool = pool_of(features, labeled, 4, blob)
    chosen = make_sampler("dcom", lr=0.05).select(pool, 10, np.random.default_rng(0))
    assert_valid(chosen, pool, 10)
    assert 0 < pool.info["delta_avg"] <= 1.1 and 0 <= pool.info["coverage"] <= 1
    assert pool.info["competence"] == competence(pool.info["coverage"], 50, 0.8)
    assert pool.oracle.requests() == 2 * len(labeled)  # the head, then the centres of the balls
