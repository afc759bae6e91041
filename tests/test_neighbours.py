"""``lbal_bench.kit.neighbours``: exact ball pairs pruned by bisector bounds."""

from __future__ import annotations

import numpy as np
import pytest

from lbal_bench.features import l2_normalise
from lbal_bench.kit.neighbours import ball_graph, close_pairs, quick_cells
from lbal_plugins.datasets.synthetic import clustered_features


def dense(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0))


def check_exact(x: np.ndarray, radius: float, labels: np.ndarray | None):
    d = dense(x)
    pairs = close_pairs(x, radius, labels, max_elements=1000)  # small blocks: every block path runs
    found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
    assert len(found) == len(pairs.i) and (pairs.i < pairs.j).all()
    assert found == {(int(i), int(j)) for i, j in np.argwhere(np.triu(d < radius, 1))}
    np.testing.assert_allclose(pairs.d2, d[pairs.i, pairs.j] ** 2, atol=1e-5)
    indptr, indices = ball_graph(len(x), pairs.i, pairs.j)
    graph = np.zeros(d.shape, dtype=bool)
    graph[np.repeat(np.arange(len(x)), np.diff(indptr)), indices] = True
    assert len(indices) == len(x) + 2 * len(found)  # each edge once each way, each point once
    np.testing.assert_array_equal(graph, d < radius)  # the dense ball graph: symmetric, self-loops
    if labels is not None:
        other = np.where(labels[:, None] != labels[None, :], d, np.inf).min(axis=1)
        got = pairs.other.astype(np.float64)
        assert (got >= other**2 - 1e-5).all()
        np.testing.assert_allclose(got[other < radius], other[other < radius] ** 2, atol=1e-5)
    return pairs


@pytest.mark.parametrize("radius", [0.3, 0.9, 1.3])
def test_clustered_points_with_their_clusters_as_cells(radius):
    x, labels = clustered_features(300, 24, 6, spread=0.5, seed=1)
    check_exact(x, radius, labels)


@pytest.mark.parametrize("radius", [0.5, 0.9])
def test_many_small_cells(radius):
    """30 clusters of 12 to 32 rows as cells; no two clusters come within 0.5, many within 0.9."""
    x, labels = clustered_features(600, 16, 30, spread=0.5, seed=2)
    check_exact(x, radius, labels)


def test_any_partition_gives_every_pair():
    x = l2_normalise(np.random.default_rng(0).normal(size=(200, 8)))
    check_exact(x, 0.8, np.random.default_rng(1).integers(5, size=200))
    check_exact(x, 0.8, np.zeros(200, dtype=np.int64))
    check_exact(x, 0.8, None)  # quick_cells


def test_duplicate_cells_and_rows():
    x = np.repeat(l2_normalise(np.random.default_rng(2).normal(size=(30, 5))), 2, axis=0)
    check_exact(x, 0.5, np.arange(60) % 2)  # the two cells have one mean: no bound between them


def test_the_bound_skips_pairs_of_separated_clusters():
    """Tight clusters far apart: no pair across clusters is compared at a small radius."""
    x, labels = clustered_features(300, 24, 6, spread=0.2, seed=1)
    pairs = check_exact(x, 0.3, labels)
    assert np.isinf(pairs.other).all()


def test_quick_cells_partitions_into_at_most_sqrt_n_cells():
    x, _ = clustered_features(400, 16, 4, seed=0)
    cells = quick_cells(x)
    assert cells.shape == (400,) and 1 < len(np.unique(cells)) <= 20


def test_ball_graph_is_the_symmetric_graph_with_self_loops():
    i, j = np.array([0, 0, 2]), np.array([1, 3, 3])
    indptr, indices = ball_graph(5, i, j)
    rows = [sorted(indices[indptr[r]:indptr[r + 1]].tolist()) for r in range(5)]
    assert rows == [[0, 1, 3], [0, 1], [2, 3], [0, 2, 3], [4]]
