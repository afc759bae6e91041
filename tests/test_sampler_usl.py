"""The ``usl`` sampler: densest point per cluster, spread by a regulariser."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import check_contract, contract_cases, make_sampler, pool_of

from lbal_bench.features import l2_normalise
from lbal_plugins.samplers import usl as module
from lbal_plugins.samplers.usl import penalty

CASES = contract_cases()


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("usl"), *CASES[case])


def test_is_single_batch_and_reads_no_labels():
    sampler = make_sampler("usl")
    assert sampler.iterative is False and sampler.uses_labels is False


def cores_and_outliers(seed: int = 0):
    """Three dense cores (40 points each) with 8 sparse outliers around each."""
    rng = np.random.default_rng(seed)
    directions = np.eye(3, 8)
    core = np.repeat(directions, 40, axis=0) + 0.02 * rng.normal(size=(120, 8))
    outliers = np.repeat(directions, 8, axis=0) + 0.25 * rng.normal(size=(24, 8))
    return l2_normalise(np.concatenate([core, outliers])), np.arange(144) < 120


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_prefers_dense_points_where_farthest_first_takes_outliers(lam):
    x, is_core = cores_and_outliers()
    chosen = make_sampler("usl", knn=10, lam=lam).select(pool_of(x), 3, np.random.default_rng(0))
    assert is_core[chosen].all()
    # farthest-first traversal from the first pick, on the same data, lands on outliers
    farthest = [chosen[0]]
    for _ in range(2):
        farthest.append(int(np.argmax(np.min(np.linalg.norm(x[:, None] - x[farthest][None], axis=2), axis=1))))
    assert not is_core[farthest[1:]].any()


def test_skips_labeled_points_even_the_densest():
    x, is_core = cores_and_outliers()
    sampler = make_sampler("usl", knn=10)
    first = sampler.select(pool_of(x), 3, np.random.default_rng(0))
    chosen = sampler.select(pool_of(x, labeled=first), 3, np.random.default_rng(0))
    assert not np.isin(chosen, first).any() and is_core[chosen].all()


def arc(angles: list[float], copies: int = 5) -> np.ndarray:
    """``copies`` identical unit vectors at each angle of a circle (equal, maximal density)."""
    theta = np.repeat(angles, copies)
    return np.stack([np.cos(theta), np.sin(theta)], axis=1).astype(np.float32)


def test_regulariser_pushes_picks_of_neighbouring_clusters_apart(monkeypatch):
    # cluster 0 = groups at 0.9 and 0.0 rad, cluster 1 = groups at 1.1 and 2.0 rad; every
    # group is equally dense, so without the regulariser ties go to the first indices:
    # the groups at 0.9 and 1.1, 0.2 apart across the cluster boundary
    x = arc([0.9, 1.1, 0.0, 2.0])
    clusters = np.repeat([0, 1, 0, 1], 5)
    monkeypatch.setattr(module.USL, "cluster_labels", lambda self, x, k, seed: clusters)
    pool = pool_of(x)
    plain = make_sampler("usl", knn=3, lam=0.0).select(pool, 2, np.random.default_rng(0))
    spread = make_sampler("usl", knn=3).select(pool, 2, np.random.default_rng(0))
    assert sorted(plain // 5) == [0, 1]
    assert sorted(spread // 5) == [2, 3]
    assert np.linalg.norm(x[spread[0]] - x[spread[1]]) > 5 * np.linalg.norm(x[plain[0]] - x[plain[1]])


@pytest.mark.parametrize(("alpha", "horizon"), [(0.5, 4.0), (1.0, 1.0)])
def test_penalty_sums_inverse_distances_to_other_clusters_picks_within_the_horizon(alpha, horizon):
    rng = np.random.default_rng(0)
    x = l2_normalise(rng.normal(size=(40, 5)))
    clusters = np.arange(40) % 4
    picks = np.array([0, 5, 10, 15])  # one per cluster
    d2 = ((x[:, None, :].astype(np.float64) - x[None, picks, :]) ** 2).sum(-1)
    counted = (clusters[:, None] != clusters[picks][None, :]) & (d2 < horizon)
    expected = np.where(counted, np.maximum(d2, 1e-12) ** -alpha, 0).sum(axis=1)
    assert 0 < counted.sum() <= 120  # own-cluster picks drop out (40 of 160), far ones too at horizon 1
    assert (counted.sum() < 120) == (horizon < 4)
    np.testing.assert_allclose(penalty(x, clusters, picks, alpha, horizon), expected, rtol=1e-4)


def test_fills_empty_clusters_with_the_best_remaining_points(monkeypatch):
    x = arc([0.0, 1.0, 2.0], copies=4)
    monkeypatch.setattr(module.USL, "cluster_labels", lambda self, x, k, seed: np.repeat([0, 2, 4], 4))  # 1, 3 empty
    chosen = make_sampler("usl", knn=3, lam=0.0).select(pool_of(x), 5, np.random.default_rng(0))
    assert list(chosen) == [0, 4, 8, 1, 2]
