"""``probcover``: ProbCover, greedy maximum coverage of the pool by δ-balls.

Yehuda, Dekel, Hacohen and Weinshall, "Active Learning Through a Covering Lens",
NeurIPS 2022 (reference code: avihu111/TypiClust, ``deep-al/pycls/al/prob_cover.py``).

Iterative, and a cold-start method (``cold_start = True``: the paper selects its first
budget from no labels). Build the graph with an edge ``i -> j`` iff ``||x_i - x_j|| < δ``
on the L2-normalised features of the whole pool (every point covers itself). Points
already covered by a labeled point are removed; then, ``budget`` times, label the point
whose ball holds the most uncovered points (ties: smallest index, as the code's
``argmax``) and mark those points covered. The graph is a sparse edge list from an exact
range search (``lbal_bench.kit.neighbours.close_pairs``: the rows of two clusters are
compared only where the bisector bound between them lets them be closer than δ), and
the greedy step updates the uncovered-neighbour counts of the points next to the newly
covered ones only, instead of recounting every edge as the code does, with the same
picks.

δ, the ``delta`` option:

- ``auto-once`` (default, the paper: δ is fixed once per dataset): the purity rule on
  the pool, with the pseudo-label K-means seeded by a constant, so every step and every
  seed of a pool use one δ.
- ``auto-per-step``: the purity rule at every step, its K-means seeded by the step's
  generator (what this sampler did before; δ then drifts between steps).
- a number: that δ (the released code's ``--delta``, e.g. 0.75 in its CIFAR-10 usage).

The purity rule (paper §4): K-means with k = ``pool.num_classes`` gives pseudo-labels (no
true labels are read); a ball is pure when it holds no point of another pseudo-label;
δ is the largest value of the grid ``grid_step, 2·grid_step, ..., max_delta`` (the
reference configs: step 0.05) whose fraction of pure balls is at least ``purity``
(α = 0.95); if none is, the smallest. The K-means options are the shared
``lbal_bench.kit.compute.KMeansOptions`` (``init``, ``nredo``, ``niter``, ``fixed_seed``,
``backend``, ...). The rule needs each point's distance to the nearest point of another
pseudo-label only below the grid value above δ: one range search at a grid radius (the
rule on 256 random points first, exhaustively; one step up while the distances found
leave the next δ pure enough) gives that and, the same pass, the graph (``purity_delta``).
``pool.info`` receives ``delta``, ``delta_rule`` and, for the automatic rules, the
``purity`` δ reaches; the runner stores them with the selection. The graph of the last
pool and δ is kept, so the later steps of a chain skip the search.

Identical picks across seeds: with a fixed δ the greedy step is deterministic (the
code's ``argmax``; a commented-out line of the code says "the paper randomizes
selection" among the top 5, which the released code does not), so on fixed features
the std over seeds is 0 and the method's, as released. Seeds enter only through
``auto-per-step``'s K-means and the fill after saturation.

Where we differ from the code:

- Coverage saturation: once every point is covered, all counts are zero and the code's
  ``argmax`` keeps returning index 0 (a repeated, possibly already-labeled point). We
  label uniformly random unlabeled points (from the cell's generator) for the rest of the
  budget, so the result is always ``budget`` unique unlabeled points.
- The code takes δ by hand and the paper's purity rule ran offline; here it runs inside
  the sampler unless ``delta`` is a number.
- The code's graph builder skipped the last ``N mod 500`` points as edge sources; every
  point is a source here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from annotated_types import Interval

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import KMeansOptions
from lbal_bench.kit.neighbours import ClosePairs, ball_graph, close_pairs

DELTA_RULES = ("auto-once", "auto-per-step")
ONCE_SEED = 0  # the pseudo-label K-means seed of ``auto-once``
PROBES = 256  # points whose nearest other-label distance is searched exhaustively for the first radius


def _neighbours(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """All neighbours of ``rows`` in a CSR graph, concatenated (with repeats)."""
    lengths = indptr[rows + 1] - indptr[rows]
    offsets = np.repeat(indptr[rows] - np.cumsum(lengths) + lengths, lengths)
    return indices[offsets + np.arange(lengths.sum())]


def greedy_cover(indptr: np.ndarray, indices: np.ndarray, labeled: np.ndarray, budget: int) -> np.ndarray:
    """Up to ``budget`` points, each the one whose ball (CSR graph rows) holds the most points
    not yet covered (ties: smallest index), until every point is covered."""
    covered = np.zeros(len(indptr) - 1, dtype=bool)
    covered[_neighbours(indptr, indices, np.asarray(labeled, dtype=np.int64))] = True
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
    return np.asarray(chosen, dtype=np.int64)


def probe_nearest_other(features: np.ndarray, labels: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """Distance (float64) from each of the rows ``probes`` to the nearest point of another
    label (``inf`` when there is none), by every distance from those rows."""
    x = np.ascontiguousarray(features, dtype=np.float32)
    norms = (x * x).sum(axis=1)
    d2 = norms[probes][:, None] + norms[None, :] - 2 * x[probes] @ x.T
    d2[labels[probes][:, None] == labels[None, :]] = np.inf
    return np.sqrt(np.maximum(d2.min(axis=1), 0).astype(np.float64))


def purity_delta(features: np.ndarray, pseudo_labels: np.ndarray, grid: np.ndarray, alpha: float,
                 probes: int = PROBES) -> tuple[float, float, ClosePairs]:
    """``(δ, purity, pairs)``: the largest δ of ``grid`` (ascending) whose δ-balls are pure for
    at least ``alpha`` of the points (the smallest δ if none is), that fraction, and every
    pair closer than a radius of at least δ (``neighbours.close_pairs``).

    A ball ``||x - y|| < δ`` is pure when it holds no point of another pseudo-label, i.e.
    when δ is at most the distance to the nearest point labeled otherwise. One range search
    at a grid radius ``r`` (cells: the pseudo-labels) gives that distance wherever it is
    below ``r``, so the purity of every δ <= r, and an upper bound of it elsewhere; the
    first ``r`` is the rule's answer on ``probes`` random points (exhaustive search), and
    ``r`` moves one step up until the bound shows that the next δ is not pure enough.
    """
    n = len(features)
    picked = np.random.default_rng(ONCE_SEED).choice(n, min(n, probes), replace=False)
    probed = probe_nearest_other(features, pseudo_labels, picked)
    estimate = np.flatnonzero((probed[None, :] >= grid[:, None]).mean(axis=1) >= alpha)
    level = estimate[-1] if estimate.size else 0
    while True:
        pairs = close_pairs(features, float(grid[level]), pseudo_labels)
        other = np.sqrt(pairs.other.astype(np.float64))
        other[picked] = np.minimum(other[picked], probed)
        if level + 1 == len(grid) or (other >= grid[level + 1]).mean() < alpha:
            break
        level += 1
    purities = (other[None, :] >= grid[:level + 1, None]).mean(axis=1)
    pure = np.flatnonzero(purities >= alpha)
    best = pure[-1] if pure.size else 0
    return float(grid[best]), float(purities[best]), pairs


@dataclass(frozen=True)
class ProbCover(KMeansOptions):
    """Greedy maximum coverage of the pool by δ-balls around labeled points."""

    uses_labels = False
    iterative = True
    cold_start = True

    delta: str | float = "auto-once"
    purity: Annotated[float, Interval(gt=0, le=1)] = 0.95
    grid_step: Annotated[float, Interval(gt=0, le=2)] = 0.05
    max_delta: Annotated[float, Interval(gt=0, le=2)] = 2.0  # unit vectors are at most 2 apart
    _once: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _graph: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.delta, str):
            if self.delta not in DELTA_RULES:
                raise ValueError(f"delta must be a positive number or one of {', '.join(DELTA_RULES)}, "
                                 f"got {self.delta!r}")
        elif isinstance(self.delta, bool) or not isinstance(self.delta, (int, float)) or not self.delta > 0:
            raise ValueError(f"delta must be a positive number or one of {', '.join(DELTA_RULES)}, got {self.delta!r}")
        if not self.grid_step <= self.max_delta:
            raise ValueError(f"need grid_step <= max_delta, got grid_step={self.grid_step}, max_delta={self.max_delta}")

    def grid(self) -> np.ndarray:
        """The δ values the purity rule considers, ascending."""
        return np.round(self.grid_step * np.arange(1, int(self.max_delta / self.grid_step + 1e-9) + 1), 10)

    def purity_rule(self, features: np.ndarray, num_classes: int, seed: int) -> tuple[float, float, ClosePairs]:
        """``(δ, purity, pairs)`` of the purity rule on K-means pseudo-labels (K-means seeded by
        ``seed``; ``purity_delta``)."""
        pseudo = self.cluster_labels(features, min(num_classes, len(features)), seed)
        return purity_delta(features, pseudo, self.grid(), self.purity)

    def delta_and_graph(self, pool: Pool, rng: np.random.Generator) -> tuple[float, float | None, tuple]:
        """``(δ, purity, graph)`` by the ``delta`` option (purity None for a given δ): the
        CSR ball graph at δ (``neighbours.ball_graph``). The last pool's graph is kept, so
        the steps of a chain with one δ search once."""
        features = np.asarray(pool.features)
        key = (features.shape, pool.num_classes, hashlib.sha1(np.ascontiguousarray(features).data).hexdigest())
        pairs = None
        if not isinstance(self.delta, str):
            delta, purity = float(self.delta), None
        elif self.delta == "auto-per-step":
            delta, purity, pairs = self.purity_rule(features, pool.num_classes, int(rng.integers(2**31 - 1)))
        elif key in self._once:
            delta, purity = self._once[key]
        else:
            delta, purity, pairs = self.purity_rule(features, pool.num_classes, ONCE_SEED)
            self._once[key] = delta, purity
        if (key, delta) not in self._graph:
            if pairs is None:
                pairs = close_pairs(features, delta)
            inside = pairs.d2 < np.float32(delta * delta)
            self._graph.clear()
            self._graph[key, delta] = ball_graph(len(features), pairs.i[inside], pairs.j[inside])
        return delta, purity, self._graph[key, delta]

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        delta, purity, (indptr, indices) = self.delta_and_graph(pool, rng)
        pool.info.update(delta=delta, delta_rule=self.delta if isinstance(self.delta, str) else "given",
                         **({} if purity is None else {"purity": purity}))
        chosen = greedy_cover(indptr, indices, pool.labeled, budget)
        unlabeled = np.setdiff1d(pool.unlabeled, chosen)
        rest = unlabeled[rng.permutation(len(unlabeled))[:budget - len(chosen)]]
        return np.concatenate([chosen, rest])


@hookimpl
def lbal_register_samplers(register):
    register("probcover", ProbCover,
             description="greedy max coverage by δ-balls, δ by pseudo-label purity (Yehuda et al. 2022)")
