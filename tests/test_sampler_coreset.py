"""The ``coreset`` sampler: the sampler contract, and k-center greedy picks equal to a
brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from sampler_contract import blobs, check_contract, contract_cases, make_sampler, pool_of

CASES = contract_cases()


def random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def reference_greedy(features: np.ndarray, centres: list[int], budget: int) -> list[int]:
    """k-center greedy on the full float64 distance matrix, one pick at a time."""
    dist = cdist(features.astype(np.float64), features.astype(np.float64))
    mind = dist[:, centres].min(axis=1)
    mind[centres] = -1.0
    picks = []
    for _ in range(budget):
        new = int(np.argmax(mind))
        picks.append(new)
        mind = np.minimum(mind, dist[:, new])
        mind[picks] = -1.0
    return picks


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("coreset"), *CASES[case])


def test_declares_iterative_and_never_reads_labels():
    pool = pool_of(blobs(20, 3)[0], labeled=[0, 25])
    sampler = make_sampler("coreset")
    assert sampler.iterative is True and sampler.uses_labels is False
    sampler.select(pool, 10, np.random.default_rng(0))
    assert pool.oracle.requests() == 0


def test_invalid_budget_is_refused():
    features, _ = blobs(5, 2)
    with pytest.raises(ValueError, match="budget"):
        make_sampler("coreset").select(pool_of(features, [0, 1]), 9, np.random.default_rng(0))
    with pytest.raises(ValueError, match="budget"):
        make_sampler("coreset").select(pool_of(features), 0, np.random.default_rng(0))


def test_without_labeled_points_the_first_centre_comes_from_rng():
    pool = pool_of(blobs(30, 4)[0])
    runs = [make_sampler("coreset").select(pool, 12, np.random.default_rng(seed)) for seed in (5, 5, 6, 7, 8)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert len({int(run[0]) for run in runs[1:]}) > 1  # other seeds start elsewhere


@pytest.mark.parametrize("labeled", [(), (0, 25)])
def test_duplicate_rows_are_covered_before_any_copy(labeled):
    pool = pool_of(np.repeat(np.eye(5, 8, dtype=np.float32), 24, axis=0), labeled)  # 5 distinct rows
    chosen = make_sampler("coreset").select(pool, 40, np.random.default_rng(1))
    labeled_rows = {i // 24 for i in labeled}
    first_rows = {int(i) // 24 for i in chosen[:5 - len(labeled_rows)]}
    assert len(first_rows) == 5 - len(labeled_rows) and not first_rows & labeled_rows


@pytest.mark.parametrize("case", range(12))
def test_picks_equal_brute_force_k_center_greedy(case):
    rng = np.random.default_rng(100 + case)
    n, dim = int(rng.integers(8, 80)), int(rng.integers(2, 12))
    features = random_unit(n, dim, seed=case)
    labeled = [int(i) for i in rng.choice(n, int(rng.integers(1, 5)), replace=False)] if case % 2 else []
    budget = int(rng.integers(1, n - len(labeled) + 1))
    chosen = make_sampler("coreset").select(pool_of(features, labeled), budget, np.random.default_rng(case))
    if labeled:
        assert list(chosen) == reference_greedy(features, labeled, budget)
    else:  # the first centre is random; the greedy continues from it
        assert list(chosen[1:]) == reference_greedy(features, [int(chosen[0])], budget - 1)


def test_each_pick_is_the_farthest_point_from_the_centres_so_far():
    """On clustered data large enough for the lazy updates to skip most of the pool."""
    features, blob = blobs(200, 12, dim=32, spread=0.5, seed=3)  # 2400 points
    labeled = np.array([0, 1, 2, 201])  # blobs 0 and 1
    chosen = make_sampler("coreset").select(pool_of(features, labeled), 120, np.random.default_rng(0))
    dist = cdist(features.astype(np.float64), features.astype(np.float64))
    mind = dist[:, labeled].min(axis=1)
    covering = [mind.max()]
    for pick in chosen:
        mind[labeled] = -1.0
        assert mind[pick] >= mind.max() - 1e-6, "not the farthest point"
        mind = np.minimum(mind, dist[:, pick])
        labeled = np.append(labeled, pick)
        covering.append(np.delete(mind, labeled).max())
    assert np.all(np.diff(covering) <= 1e-6)  # the covering radius never grows
    assert sorted(blob[chosen[:10]]) == list(range(2, 12))  # one pick in each blob without labels first


def test_declares_cold_start_and_picks_one_point_per_blob_from_zero_labels():
    features, blob = blobs(30, 6, dim=16, spread=0.5, seed=2)
    sampler = make_sampler("coreset")
    assert sampler.cold_start is True
    chosen = sampler.select(pool_of(features), 6, np.random.default_rng(0))
    assert sorted(blob[chosen]) == list(range(6))
