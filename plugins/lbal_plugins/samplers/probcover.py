"""``probcover``: ProbCover, greedy maximum coverage of the pool by δ-balls.

Yehuda, Dekel, Hacohen and Weinshall, "Active Learning Through a Covering Lens",
NeurIPS 2022 (reference code: avihu111/TypiClust, ``deep-al/pycls/al/prob_cover.py``).

Iterative protocol: build the graph with an edge ``i -> j`` iff ``||x_i - x_j|| < δ`` on
the L2-normalised features of the whole pool (every point covers itself). Points already
covered by a labeled point are removed; then, ``budget`` times, label the point whose
ball holds the most uncovered points (ties: smallest index, as the code's ``argmax``) and
mark those points covered. The graph is a sparse edge list built block by block
(``lbal_bench.compute.radius_graph``); the greedy step updates the uncovered-neighbour
counts of the points next to the newly covered ones only, instead of recounting every
edge as the code does, with the same picks.

δ: the ``delta`` option, or by default the paper's purity rule: K-means with
k = ``pool.num_classes`` gives pseudo-labels (no true labels are read), the purity of δ
is the fraction of points whose δ-ball holds only points of their own pseudo-label, and
δ is the largest value of the grid ``grid_step, 2·grid_step, ..., 2`` (distances between
unit vectors are at most 2) whose purity is at least ``purity`` (default 0.95). If no
grid value is pure enough the smallest is used. δ is re-estimated at every step.

Where we differ from the code:

- Coverage saturation: once every point is covered, all counts are zero and the code's
  ``argmax`` keeps returning index 0 (a repeated, possibly already-labeled point). We
  label uniformly random unlabeled points (from the cell's generator) for the rest of the
  budget, so the result is always ``budget`` unique unlabeled points.
- The code passed δ by hand (``--initial_delta``, default 0.6) and computed the purity
  rule offline; here it runs inside the sampler when ``delta`` is not given.
- The code's graph builder skipped the last ``N mod 500`` points as edge sources; every
  point is a source here.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.compute import kmeans_labels, radius_graph, sqdist_blocks, torch_device


def _neighbours(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """All neighbours of ``rows`` in a CSR graph, concatenated (with repeats)."""
    lengths = indptr[rows + 1] - indptr[rows]
    offsets = np.repeat(indptr[rows] - np.cumsum(lengths) + lengths, lengths)
    return indices[offsets + np.arange(lengths.sum())]


def purity_delta(features: np.ndarray, pseudo_labels: np.ndarray, grid: np.ndarray, alpha: float) -> float:
    """The largest δ of ``grid`` whose δ-balls are pure for at least ``alpha`` of the points.

    A ball ``||x - y|| < δ`` is pure when it holds no point of another pseudo-label, i.e.
    when δ is at most the distance to the nearest point labeled otherwise.
    """
    import torch

    nearest_other = np.empty(len(features), dtype=np.float64)
    labels = torch.as_tensor(pseudo_labels, device=torch_device())
    for start, d2 in sqdist_blocks(features, features):
        same = labels[start:start + len(d2), None] == labels[None, :]
        nearest_other[start:start + len(d2)] = d2.masked_fill_(same, float("inf")).min(dim=1).values.cpu().numpy()
    purities = (np.sqrt(nearest_other)[None, :] >= grid[:, None]).mean(axis=1)
    pure = np.flatnonzero(purities >= alpha)
    return float(grid[pure[-1]] if pure.size else grid[0])


class ProbCover:
    """Greedy maximum coverage of the pool by δ-balls around labeled points."""

    uses_labels = False
    iterative = True

    def __init__(self, delta: float | None = None, purity: float = 0.95, grid_step: float = 0.05,
                 niter: int = 20, nredo: int = 5):
        if delta is not None and not delta > 0:
            raise ValueError(f"delta must be positive (or null for the purity rule), got {delta}")
        if not 0 < purity <= 1:
            raise ValueError(f"purity must be in (0, 1], got {purity}")
        if not 0 < grid_step <= 2:
            raise ValueError(f"grid_step must be in (0, 2], got {grid_step}")
        if niter < 1 or nredo < 1:
            raise ValueError("niter and nredo must be at least 1")
        self.delta = delta
        self.purity = purity
        self.grid_step = grid_step
        self.niter = niter
        self.nredo = nredo

    def choose_delta(self, pool: Pool, rng: np.random.Generator) -> float:
        """``delta`` if given, else the purity rule on K-means pseudo-labels."""
        if self.delta is not None:
            return float(self.delta)
        features = np.asarray(pool.features)
        k = min(pool.num_classes, len(features))
        pseudo = kmeans_labels(features, k, seed=int(rng.integers(2**31 - 1)), niter=self.niter, nredo=self.nredo)
        grid = np.round(self.grid_step * np.arange(1, int(2 / self.grid_step + 1e-9) + 1), 10)
        return purity_delta(features, pseudo, grid, self.purity)

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        indptr, indices = radius_graph(np.asarray(pool.features), self.choose_delta(pool, rng))
        covered = np.zeros(len(indptr) - 1, dtype=bool)
        covered[_neighbours(indptr, indices, pool.labeled)] = True
        uncovered_counts = np.add.reduceat((~covered[indices]).astype(np.int64), indptr[:-1])
        chosen = []
        for _ in range(budget):
            pick = int(np.argmax(uncovered_counts))
            if not uncovered_counts[pick]:
                break  # everything is covered
            newly = _neighbours(indptr, indices, np.array([pick]))
            newly = newly[~covered[newly]]
            covered[newly] = True
            np.subtract.at(uncovered_counts, _neighbours(indptr, indices, newly), 1)
            chosen.append(pick)
        unlabeled = np.setdiff1d(pool.unlabeled, chosen)
        rest = unlabeled[rng.permutation(len(unlabeled))[:budget - len(chosen)]]
        return np.concatenate([np.asarray(chosen, dtype=np.int64), rest])


@hookimpl
def lbal_register_samplers(register):
    register("probcover", ProbCover,
             description="greedy max coverage by δ-balls, δ by pseudo-label purity (Yehuda et al. 2022)")
