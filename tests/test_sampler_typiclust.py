"""The ``typiclust`` sampler: most typical point of the largest, least-labeled clusters."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

from lbal_bench import LbalError
from lbal_plugins.samplers import typiclust as module

CASES = contract_cases()


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("typiclust"), *CASES[case])


def test_is_iterative_and_reads_no_labels():
    sampler = make_sampler("typiclust")
    assert sampler.iterative is True and sampler.uses_labels is False


def test_the_inherited_kmeans_options_are_checked_too():
    # its own options' ranges are declared (tests/test_plugin_options.py)
    with pytest.raises(LbalError, match="nredo"):
        make_sampler("typiclust", nredo=0)


def fixed_clusters(monkeypatch, clusters):
    """Make the sampler see ``clusters`` as its K-means result."""
    monkeypatch.setattr(module.TypiClust, "cluster_labels", lambda self, x, k, seed: np.asarray(clusters))


def most_typical(features: np.ndarray, points: np.ndarray, knn: int = 20) -> int:
    """Brute force: the point with the smallest mean squared distance to its k nearest others."""
    d2 = ((features[points, None, :].astype(np.float64) - features[None, points, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    k = min(knn, len(points) // 2)
    return int(points[np.argmin(np.sort(d2, axis=1)[:, :k].mean(axis=1))])


def test_visits_fewest_labeled_then_largest_clusters_and_never_tiny_ones(monkeypatch):
    features, _ = blobs(20, 5, seed=3)  # 100 points; the blobs do not matter, the clusters do
    clusters = np.repeat([0, 1, 2, 3, 4, 5], [30, 40, 20, 5, 3, 2])
    fixed_clusters(monkeypatch, clusters)
    labeled = np.array([0, 1])  # cluster 0 has two labels
    chosen = make_sampler("typiclust").select(pool_of(features, labeled), 4, np.random.default_rng(0))
    assert list(clusters[chosen]) == [1, 2, 0, 1]  # 40 and 20 points unlabeled first, then 30, then again
    assert chosen[0] == most_typical(features, np.flatnonzero(clusters == 1))
    assert chosen[2] == most_typical(features, np.flatnonzero(clusters == 0)[2:])  # labeled points left out
    second = np.setdiff1d(np.flatnonzero(clusters == 1), chosen[:1])
    assert chosen[3] == most_typical(features, second)  # recomputed without the first pick


def test_small_clusters_only_once_every_large_cluster_is_exhausted(monkeypatch):
    features, _ = blobs(7, 3, seed=4)  # 21 points
    clusters = np.repeat([0, 1, 2, 3], [8, 8, 3, 2])
    fixed_clusters(monkeypatch, clusters)
    pool = pool_of(features, labeled=[0])
    chosen = make_sampler("typiclust").select(pool, 18, np.random.default_rng(0))
    assert_valid(chosen, pool, 18)
    assert list(clusters[chosen]) == [1, 0] * 7 + [1, 2, 3, 2]  # the small ones rotate too


def test_uses_every_cluster_when_none_is_large_enough(monkeypatch):
    features, _ = blobs(4, 3, seed=5)
    clusters = np.repeat([0, 1, 2, 3], [3, 4, 2, 3])
    fixed_clusters(monkeypatch, clusters)
    chosen = make_sampler("typiclust").select(pool_of(features), 5, np.random.default_rng(0))
    assert list(clusters[chosen]) == [1, 0, 3, 2, 1]


def test_covers_every_blob_with_typical_points_and_skips_outliers():
    features, blob = blobs(50, 4, spread=0.5, seed=1)
    outliers = np.eye(8, dtype=np.float32)[4:] * -1  # four far, isolated points
    features = np.concatenate([features, outliers])
    chosen = make_sampler("typiclust").select(pool_of(features), 8, np.random.default_rng(0))
    assert chosen.max() < 200  # no outlier
    assert set(blob[chosen]) == {0, 1, 2, 3}
    # the picks are typical: each is closer to its blob's mean than the blob's average point
    means = np.stack([features[:200][blob == b].mean(axis=0) for b in range(4)])
    dist = np.linalg.norm(features[:200] - means[blob], axis=1)
    assert (dist[chosen] < np.array([dist[blob == b].mean() for b in range(4)])[blob[chosen]]).all()
