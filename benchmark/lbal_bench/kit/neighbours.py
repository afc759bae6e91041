"""Exact ball pairs of a point set without all N² distances, pruned by bisector bounds.

The rows are grouped by a partition (K-means pseudo-labels, or cells from a quick
K-means). For two cells with means ``m_a``, ``m_b`` and the unit vector
``e = (m_a - m_b) / ||m_a - m_b||``, any two points satisfy ``||x - y|| >= (x - y)·e``:
the distance is at least the sum of their signed distances to the bisecting hyperplane.
In high dimensions this bound stays close to the distance between points of different
clusters, where the triangle inequality through a cell centre (a bound in ``||x - m||``)
loses the whole cell radius. Each pair of cells is compared in strips of rows sorted by
that distance, each strip against the columns the bound lets through, in float32 GEMM
blocks (numpy on the CPU, one BLAS thread per cell, the cells on every core: the blocks
are too small for a threaded GEMM); each pair is decided once, by the smaller index.

``device`` (default: ``"cuda"`` when ``training.cuda_available()``, else ``"cpu"``): on
``"cpu"`` the blocks are numpy's, as above. On ``"cuda"`` (or ``"torch-cpu"``, the same
code as torch tensors on the CPU, which is how the tests check it) the rows go to the
device once; each block's squared distances, hit mask and row and column minima are
computed there and only the hits (indices and ``d2``) and the minima come back, the
cells one after another (the device runs a block at a time). The pruning (which cells
and strips are compared) is the same code on every device, in float64 on the host.
cuBLAS rounds a GEMM differently from the CPU's BLAS, so on CUDA a pair whose distance
lies within float32 rounding of the radius (``d2`` within about ``1e-6`` of ``radius²``
for unit vectors) may be decided the other way, and ``d2`` and ``other`` differ in the
last bits; the CPU (numpy) result is the reference, and it is unchanged by the device
paths (ProbCover and DCoM on a GPU machine may thus see a few pairs at the radius differ).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from lbal_bench.kit.compute import _float32, kmeans, nearest, one_blas_thread

GUARD = 1e-4  # the bound prunes a pair only this far beyond the radius: float error
STRIP = 128  # rows per strip of a cell pair
MAX_CELLS = 100  # cells of the quick partition when none is given


@dataclass(frozen=True)
class ClosePairs:
    """Every pair ``i < j`` with ``||x_i - x_j|| < radius`` (``d2``: float32 squared
    distances, as ``d2 < float32(radius²)`` decided), and ``other``: float32 ``[N]``, the
    smallest squared distance from each point to a point of another cell among the pairs
    compared (``inf`` if none), an upper bound of the nearest other-cell squared distance
    that is exact wherever that distance is below the radius."""

    i: np.ndarray
    j: np.ndarray
    d2: np.ndarray
    other: np.ndarray


def quick_cells(x: np.ndarray) -> np.ndarray:
    """A partition (int64 ``[N]``) for ``close_pairs``: K-means on a subsample, at most
    ``MAX_CELLS`` cells (seed 0; the pairs found do not depend on it)."""
    cells = min(len(x), MAX_CELLS, max(1, int(np.sqrt(len(x)))))
    if cells == 1:
        return np.zeros(len(x), dtype=np.int64)
    centres = kmeans(x, cells, seed=0, niter=10, nredo=1, max_points_per_centroid=64)
    return nearest(centres, x, 1)[1][:, 0].astype(np.int64)


class NumpyBlocks:
    """The distance blocks of ``close_pairs`` in numpy (float32 GEMM on the host)."""

    def __init__(self, x32: np.ndarray, r2: np.float32):
        self.x, self.norms, self.r2 = x32, (x32 * x32).sum(axis=1), r2

    def columns(self, cols: np.ndarray):
        """The columns of a comparison, gathered once for all its row blocks."""
        return self.x[cols], self.norms[cols], cols

    def block(self, rows: np.ndarray, right, same: bool):
        """``(a, b, d2, minima)``: the hits of ``rows`` against ``right`` (``a``: positions in
        ``rows``, ``b``: in the columns, ``d2`` theirs; within one cell, ``same``, only
        ``rows[a] < cols[b]``), and, between two cells, each row's and each column's
        smallest squared distance (None within one cell)."""
        x, norms, cols = right
        d2 = self.x[rows] @ x.T
        d2 *= -2
        d2 += self.norms[rows][:, None]
        d2 += norms[None, :]
        np.maximum(d2, 0, out=d2)
        hit = d2 < self.r2
        if same:
            hit &= rows[:, None] < cols[None, :]
        a, b = np.nonzero(hit)
        return a, b, d2[a, b], None if same else (d2.min(axis=1), d2.min(axis=0))


class TorchBlocks:
    """The same blocks as torch tensors on ``device`` (the rows copied there once); only
    the hits and the minima come back to the host."""

    def __init__(self, x32: np.ndarray, r2: np.float32, device: str):
        import torch

        self.torch, self.device, self.r2 = torch, torch.device(device), float(r2)
        self.x = torch.tensor(x32, device=self.device)  # a copy: x may be a read-only memmap
        self.norms = torch.from_numpy((x32 * x32).sum(axis=1)).to(self.device)  # numpy's norms

    def index(self, rows: np.ndarray):
        """Host indices as a device tensor."""
        return self.torch.from_numpy(rows).to(self.device)

    def columns(self, cols: np.ndarray):
        index = self.index(cols)
        return self.x[index], self.norms[index], index

    def block(self, rows: np.ndarray, right, same: bool):
        x, norms, cols = right
        rows = self.index(rows)
        d2 = self.x[rows] @ x.T
        d2.mul_(-2)
        d2.add_(self.norms[rows][:, None])
        d2.add_(norms[None, :])
        d2.clamp_(min=0)
        hit = d2 < self.r2  # a float32 comparison: r2 is a float32 value
        if same:
            hit &= rows[:, None] < cols[None, :]
        hits = hit.nonzero()  # [hits, 2]: three copies to the host a block, not five
        d2_hits = d2[hits[:, 0], hits[:, 1]].cpu().numpy()
        hits = hits.cpu().numpy()
        if same:
            return hits[:, 0], hits[:, 1], d2_hits, None
        minima = self.torch.cat([d2.amin(dim=1), d2.amin(dim=0)]).cpu().numpy()
        return hits[:, 0], hits[:, 1], d2_hits, (minima[:len(rows)], minima[len(rows):])


def close_pairs(x: np.ndarray, radius: float, labels: np.ndarray | None = None,
                max_elements: int = 1 << 24, device: str | None = None) -> ClosePairs:
    """All pairs of rows of ``x`` closer than ``radius``, exactly, comparing only the rows
    of two cells (``labels``, default ``quick_cells``) that the bisector bound lets through.

    ``device``: ``"cpu"`` (numpy), ``"cuda"`` (``"cuda:N"``) or ``"torch-cpu"``; default
    ``"cuda"`` when available, else ``"cpu"`` (see the module docstring)."""
    if device is None:
        from lbal_bench.kit.training import cuda_available

        device = "cuda" if cuda_available() else "cpu"
    if device != "cpu" and device != "torch-cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'torch-cpu', got {device!r}")
    x32 = _float32(x)
    n = len(x32)
    labels = quick_cells(x32) if labels is None else np.asarray(labels, dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    cells, starts = np.unique(labels[order], return_index=True)
    members = np.split(order, starts[1:])
    x64 = x32.astype(np.float64)
    means = np.add.reduceat(x64[order], starts) / np.diff(np.append(starts, n))[:, None]
    index = np.searchsorted(cells, labels)  # each row's cell, 0..len(cells)-1
    proj = x64 @ means.T  # [N, cells]
    sq = (means * means).sum(axis=1)
    gap = cdist(means, means)
    limit = radius + GUARD

    r2 = np.float32(radius * radius)
    backend = (NumpyBlocks(x32, r2) if device == "cpu" else
               TorchBlocks(x32, r2, "cpu" if device == "torch-cpu" else device))

    def compare(rows: np.ndarray, cols: np.ndarray, same: bool, found: list, near: list):
        right = backend.columns(cols)
        step = max(1, max_elements // max(1, len(cols)))
        for start in range(0, len(rows), step):
            block = rows[start:start + step]
            a, b, d2, minima = backend.block(block, right, same)
            if minima is not None:
                near += [(block, minima[0]), (cols, minima[1])]
            i, j = block[a], cols[b]
            found.append((np.minimum(i, j), np.maximum(i, j), d2))

    def cell_pairs(a: int) -> tuple[list, list]:
        """The pairs of cell ``a`` with itself and with the later cells."""
        rows, found, near = members[a], [], []
        compare(rows, rows, True, found, near)
        # signed distances to the bisector of a and each cell b, positive on the own side
        gaps = np.where(gap[a] > 0, gap[a], np.inf)
        to_a = (proj[rows, a][:, None] - proj[rows] - (sq[a] - sq) / 2) / gaps  # [rows, cells]
        from_a = (proj[np.arange(n), index] - proj[:, a] - (sq[index] - sq[a]) / 2) / gaps[index]
        nearest_from = np.minimum.reduceat(from_a[order], starts)
        for b in np.flatnonzero(to_a.min(axis=0) + nearest_from < limit):
            if b <= a:
                continue
            if gap[a, b] == 0:  # coincident means: no bound
                compare(rows, members[b], False, found, near)
                continue
            row_order = np.argsort(to_a[:, b], kind="stable")
            row_h = to_a[row_order, b]
            col_order = np.argsort(from_a[members[b]], kind="stable")
            cols = members[b][col_order]
            col_h = from_a[cols]
            reach = np.searchsorted(row_h, limit - col_h[0])
            for start in range(0, reach, STRIP):
                width = np.searchsorted(col_h, limit - row_h[start])
                if width:
                    compare(rows[row_order[start:min(reach, start + STRIP)]], cols[:width], False, found, near)
        return found, near

    if device == "cpu":
        # one BLAS thread per cell task, the tasks on every core: the blocks are too small to split
        with one_blas_thread(), ThreadPoolExecutor(len(os.sched_getaffinity(0))) as workers:
            results = list(workers.map(cell_pairs, range(len(cells))))
    else:  # one device: the cells one after another
        results = [cell_pairs(a) for a in range(len(cells))]
    found = [block for blocks, _ in results for block in blocks]
    near = [pair for _, pairs in results for pair in pairs]
    other = np.full(n, np.inf, dtype=np.float32)
    if near:
        np.minimum.at(other, np.concatenate([p[0] for p in near]), np.concatenate([p[1] for p in near]))
    return ClosePairs(np.concatenate([f[0] for f in found]).astype(np.int64),
                      np.concatenate([f[1] for f in found]).astype(np.int64),
                      np.concatenate([f[2] for f in found]), other)


def ball_graph(n: int, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr int64 [n+1], indices int32 [E])`` of the symmetric graph with the
    edges ``i - j`` and every point its own neighbour (rows in no particular order)."""
    sources = np.concatenate([np.arange(n), i, j])
    targets = np.concatenate([np.arange(n), j, i]).astype(np.int32)
    order = np.argsort(sources, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(sources, minlength=n))])
    return indptr, targets[order]
