"""``lbal_bench.kit.neighbours``: exact ball pairs pruned by bisector bounds."""

from __future__ import annotations

import numpy as np
import pytest

from lbal_bench.features import l2_normalise
from lbal_bench.kit import neighbours
from lbal_bench.kit.neighbours import ball_graph, close_pairs, quick_cells
from lbal_plugins.datasets.synthetic import clustered_features
from test_evaluator_linear import assert_runs_without_torch


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


def by_pair(pairs) -> tuple[list, np.ndarray]:
    order = np.lexsort((pairs.j, pairs.i))
    return list(zip(pairs.i[order].tolist(), pairs.j[order].tolist())), pairs.d2[order]


# Each set's radius lies in a gap of its pair distances: no pair is within 1e-3 of it
# (checked), so float32 rounding cannot decide a pair differently on another backend.
CLEAR = [("clustered, 6 cells", clustered_features(300, 24, 6, spread=0.5, seed=1), 0.884),
         ("clustered, 6 cells, small radius", clustered_features(300, 24, 6, spread=0.5, seed=1), 0.352),
         ("clustered, 8 tight cells", clustered_features(400, 32, 8, spread=0.3, seed=4), 0.92),
         ("random on the sphere, 5 random cells",
          (l2_normalise(np.random.default_rng(0).normal(size=(200, 8))), np.random.default_rng(1).integers(5, size=200)),
          0.638),
         ("duplicate rows, two cells of one mean",
          (np.repeat(l2_normalise(np.random.default_rng(2).normal(size=(30, 5))), 2, axis=0), np.arange(60) % 2), 0.5)]


@pytest.mark.parametrize("cells", ["labels", "quick cells"])
@pytest.mark.parametrize("name, data, radius", CLEAR, ids=[c[0] for c in CLEAR])
def test_the_torch_path_finds_the_pairs_of_the_numpy_path(name, data, radius, cells):
    """``device="torch-cpu"`` runs the device path (the one CUDA runs) on the CPU: the
    same pairs, their squared distances and ``other`` to float32 rounding."""
    x, labels = data
    d = dense(x)
    assert np.abs(d[np.triu_indices(len(x), 1)] - radius).min() > 1e-3
    labels = labels if cells == "labels" else None
    reference = close_pairs(x, radius, labels, max_elements=1000, device="cpu")
    torch_pairs = close_pairs(x, radius, labels, max_elements=1000, device="torch-cpu")
    found, d2 = by_pair(torch_pairs)
    expected, expected_d2 = by_pair(reference)
    assert found == expected and len(found) == int(np.triu(d < radius, 1).sum())
    assert d2.dtype == np.float32 and torch_pairs.i.dtype == torch_pairs.j.dtype == np.int64
    np.testing.assert_allclose(d2, expected_d2, atol=1e-5)
    assert torch_pairs.other.dtype == np.float32
    np.testing.assert_array_equal(np.isinf(torch_pairs.other), np.isinf(reference.other))
    finite = np.isfinite(reference.other)
    np.testing.assert_allclose(torch_pairs.other[finite], reference.other[finite], atol=1e-5)


def test_the_default_device_is_numpy_without_torch_on_a_machine_without_cuda():
    assert_runs_without_torch("from lbal_bench.kit.neighbours import close_pairs; pairs = close_pairs(x, 2.5);"
                              "assert len(pairs.i) > 0 and pairs.d2.dtype == np.float32")


def test_the_default_device_follows_cuda_available(monkeypatch):
    """With CUDA the default runs the torch blocks on "cuda" (recorded here, run on the CPU)."""
    import lbal_bench.kit.training as training

    devices = []

    class Recorded(neighbours.TorchBlocks):
        def __init__(self, x32, r2, device):
            devices.append(device)
            super().__init__(x32, r2, "cpu")

    monkeypatch.setattr(neighbours, "TorchBlocks", Recorded)
    x, labels = clustered_features(100, 8, 3, seed=0)
    monkeypatch.setattr(training, "cuda_available", lambda: False)
    numpy_pairs = close_pairs(x, 0.9, labels)
    assert devices == []
    monkeypatch.setattr(training, "cuda_available", lambda: True)
    cuda_pairs = close_pairs(x, 0.9, labels)
    assert devices == ["cuda"] and by_pair(cuda_pairs)[0] == by_pair(numpy_pairs)[0]
    close_pairs(x, 0.9, labels, device="cpu")
    assert devices == ["cuda"]


def test_an_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'torch-cpu', got 'gpu'"):
        close_pairs(np.zeros((3, 2)), 1.0, device="gpu")
