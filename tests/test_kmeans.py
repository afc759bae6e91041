"""The one K-means of every sampler that clusters (``lbal_bench.kit.compute.KMeansOptions``)."""

from __future__ import annotations

import re

import faiss
import numpy as np
import pytest

from lbal_bench import LbalError
from lbal_bench.kit import compute
from lbal_bench.kit.compute import KMeansOptions, greedy_kmeanspp, kmeans
from lbal_bench.features import l2_normalise
from lbal_bench.plugins import get_registry


def blobs(n_per: int = 40, centres: int = 12, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dim))
    labels = np.repeat(np.arange(centres), n_per)
    return l2_normalise(means[labels] + 0.15 * rng.normal(size=(len(labels), dim))), labels


def brute_force_greedy_kmeanspp(x: np.ndarray, k: int, seed: int) -> list[int]:
    """scikit-learn's greedy k-means++ written out with every distance, same random draws."""
    rng = np.random.default_rng(seed)
    x = x.astype(np.float64)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    chosen = [int(rng.integers(len(x)))]
    closest = d2[chosen[0]].copy()
    for _ in range(1, k):
        draws = rng.random(2 + int(np.log(k))) * closest.sum()
        candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), len(x) - 1)
        potentials = np.minimum(closest[None, :], d2[candidates]).sum(axis=1)
        chosen.append(int(candidates[np.argmin(potentials)]))
        closest = np.minimum(closest, d2[chosen[-1]])
    return chosen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_seeding_equals_the_brute_force_algorithm(seed):
    x, _ = blobs()
    assert list(greedy_kmeanspp(x, 30, seed)) == brute_force_greedy_kmeanspp(x, 30, seed)


def test_greedy_seeding_hits_every_blob_where_random_starts_miss():
    x, labels = blobs(centres=20, dim=32)
    hits = [len(np.unique(labels[greedy_kmeanspp(x, 20, seed)])) for seed in range(5)]
    assert min(hits) >= 19


def test_greedy_seeding_of_duplicates_returns_distinct_rows():
    x = np.repeat(np.eye(3, 4, dtype=np.float32), 5, axis=0)
    chosen = greedy_kmeanspp(x, 6, 0)
    assert len(set(chosen)) == 6 and len({tuple(row) for row in x[chosen[:3]]}) == 3


def test_paper_configuration_is_faiss_random_init_five_runs():
    x, _ = blobs()
    ours = KMeansOptions(init="random", nredo=5).centroids(x, 12, seed=7)
    km = faiss.Kmeans(x.shape[1], 12, niter=20, nredo=5, seed=7, min_points_per_centroid=1,
                      max_points_per_centroid=-(-len(x) // 12) + 1)
    km.train(x)
    np.testing.assert_array_equal(ours, km.centroids)


def test_fixed_seed_gives_one_result_for_every_seed():
    x, _ = blobs()
    fixed = KMeansOptions(init="random", nredo=5, fixed_seed=True)
    np.testing.assert_array_equal(fixed.centroids(x, 12, 0), fixed.centroids(x, 12, 5))
    seeded = KMeansOptions(init="random", nredo=5)
    assert not np.array_equal(seeded.centroids(x, 12, 0), seeded.centroids(x, 12, 5))
    np.testing.assert_array_equal(fixed.centroids(x, 12, 0), seeded.centroids(x, 12, 1234))


def test_nredo_keeps_the_best_of_its_greedy_runs():
    """Run 0 of ``nredo=3`` is the ``nredo=1`` run of the same seed; the best of three is no worse."""
    x, _ = blobs(centres=20)

    def inertia(centres):
        return ((x[:, None, :] - centres[None]) ** 2).sum(-1).min(axis=1).sum()

    assert inertia(KMeansOptions(nredo=3).centroids(x, 20, 0)) <= inertia(KMeansOptions(nredo=1).centroids(x, 20, 0)) * 1.001


def test_sklearn_backend_is_typiclust_reference_clustering():
    from sklearn.cluster import KMeans, MiniBatchKMeans

    x, _ = blobs()
    ours = KMeansOptions(backend="sklearn").cluster_labels(x, 12, seed=3)
    np.testing.assert_array_equal(ours, KMeans(n_clusters=12, random_state=3).fit(x).labels_)
    many = KMeansOptions(backend="sklearn").cluster_labels(x, 60, seed=3)
    reference = MiniBatchKMeans(n_clusters=60, batch_size=5000, random_state=3).fit(x).labels_
    np.testing.assert_array_equal(many, reference)


def test_cluster_labels_are_each_points_nearest_centroid():
    x, _ = blobs()
    options = KMeansOptions()
    centres = options.centroids(x, 12, 4)
    labels = options.cluster_labels(x, 12, 4)
    expected = ((x[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
    np.testing.assert_array_equal(labels, expected)


def seeded_sets(monkeypatch, options: KMeansOptions, x: np.ndarray, k: int) -> list[np.ndarray]:
    """The point sets ``options`` seeds on (one per run), recorded from ``greedy_kmeanspp``."""
    seen, seed_on = [], compute.greedy_kmeanspp

    def recording(sample, k, seed):
        seen.append(sample.copy())
        return seed_on(sample, k, seed)

    monkeypatch.setattr(compute, "greedy_kmeanspp", recording)
    options.centroids(x, k, 0)
    return seen


def test_greedy_seeds_on_a_subsample_of_distinct_points_then_lloyd_runs_on_all(monkeypatch):
    x, _ = blobs(n_per=50, centres=10)
    (sample,) = seeded_sets(monkeypatch, KMeansOptions(seeding_points_per_centroid=8), x, 10)
    rows = {tuple(row) for row in x}
    assert len(sample) == 80 and len({tuple(row) for row in sample}) == 80 <= len(rows)
    assert {tuple(row) for row in sample} <= rows
    (smaller,) = seeded_sets(monkeypatch, KMeansOptions(seeding_points_per_centroid=8, max_points_per_centroid=4), x, 10)
    assert len(smaller) == 40
    (every,) = seeded_sets(monkeypatch, KMeansOptions(seeding_points_per_centroid=None), x, 10)
    np.testing.assert_array_equal(every, x)  # and so with fewer points than k * the default 64
    np.testing.assert_array_equal(seeded_sets(monkeypatch, KMeansOptions(), x, 10)[0], x)
    # converged Lloyd on every point: each centre is the mean of all the points nearest it
    centres = KMeansOptions(seeding_points_per_centroid=8, tol=0, niter=100).centroids(x, 10, 0)
    labels = ((x[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
    means = np.stack([x[labels == c].mean(axis=0) for c in range(10)])
    np.testing.assert_allclose(centres, means, atol=1e-5)


def test_tol_stops_lloyd_at_the_first_iteration_that_gains_less():
    """A tolerance above any relative gain stops after the second iteration, the first
    compared with one before; no tolerance runs on to the fixed point."""
    x = np.random.default_rng(0).random((600, 4), dtype=np.float32)
    start = x[greedy_kmeanspp(x, 20, 0)]
    centres = {(niter, tol): kmeans(x, 20, 1, niter=niter, nredo=1, start=start, tol=tol)
               for niter, tol in ((2, 0.0), (3, 0.0), (50, 0.0), (50, 1.0))}
    np.testing.assert_array_equal(centres[50, 1.0], centres[2, 0.0])
    assert not np.array_equal(centres[2, 0.0], centres[3, 0.0])
    assert not np.array_equal(centres[50, 0.0], centres[2, 0.0])


def test_default_tol_is_scikit_learns_after_greedy_seeding_and_none_after_faiss_seedings():
    x = np.random.default_rng(0).random((2000, 8), dtype=np.float32)  # no clusters: Lloyd converges slowly

    def centres(**options):
        return KMeansOptions(niter=100, **options).centroids(x, 30, 0)

    greedy = centres()
    np.testing.assert_array_equal(greedy, centres(tol=1e-4))
    assert not np.array_equal(greedy, centres(tol=0))
    random = centres(init="random")
    np.testing.assert_array_equal(random, centres(init="random", tol=0))
    assert not np.array_equal(random, centres(init="random", tol=1e-2))


@pytest.mark.parametrize(("options", "message"), [
    ({"seeding_points_per_centroid": 0}, "option 'seeding_points_per_centroid' must be int | None (>= 1), got 0"),
    ({"seeding_points_per_centroid": 2.5}, "option 'seeding_points_per_centroid' must be int | None (>= 1), got 2.5"),
    ({"tol": -1e-4}, "option 'tol' must be float | None (>= 0), got -0.0001"),
    ({"tol": True}, "option 'tol' must be float | None (>= 0), got True"),
    ({"niter": 0}, "option 'niter' must be int (>= 1), got 0"),
])
def test_out_of_range_options_are_refused_by_their_declared_ranges(options, message):
    with pytest.raises(LbalError, match=f"^sampler 'kmeans': {re.escape(message)}$"):
        get_registry().create("sampler", "kmeans", options)


@pytest.mark.parametrize("options", [{"tol": 0}, {"tol": 1e-4}, {"seeding_points_per_centroid": None},
                                     {"seeding_points_per_centroid": 1}])
def test_the_edges_of_the_ranges_are_accepted(options):
    assert get_registry().create("sampler", "kmeans", options).kmeans_options() == KMeansOptions(**options)
