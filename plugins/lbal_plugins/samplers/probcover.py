"""``probcover``: ProbCover, greedy maximum coverage of the pool by δ-balls.

Yehuda, Dekel, Hacohen and Weinshall, "Active Learning Through a Covering Lens",
NeurIPS 2022 (reference code: avihu111/TypiClust, ``deep-al/pycls/al/prob_cover.py``).

Iterative, and a cold-start method (``cold_start = True``: the paper selects its first
budget from no labels). Build the graph with an edge ``i -> j`` iff ``||x_i - x_j|| < δ``
on the L2-normalised features of the whole pool (every point covers itself). Points
already covered by a labeled point are removed; then, ``budget`` times, label the point
whose ball holds the most uncovered points (ties: smallest index, as the code's
``argmax``) and mark those points covered. The graph is a sparse edge list from an exact
pruned range search (``lbal_bench.kit.compute.radius_graph``: only the rows of nearby cells
are compared), and the greedy step updates the uncovered-neighbour counts of the points
next to the newly covered ones only, instead of recounting every edge as the code does,
with the same picks.

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
``backend``, ...). ``pool.info`` receives ``delta``, ``delta_rule`` and, for the automatic
rules, the ``purity`` δ reaches; the runner stores them with the selection.

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

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import KMeansOptions, nearest, radius_graph

DELTA_RULES = ("auto-once", "auto-per-step")
ONCE_SEED = 0  # the pseudo-label K-means seed of ``auto-once``


def _neighbours(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """All neighbours of ``rows`` in a CSR graph, concatenated (with repeats)."""
    lengths = indptr[rows + 1] - indptr[rows]
    offsets = np.repeat(indptr[rows] - np.cumsum(lengths) + lengths, lengths)
    return indices[offsets + np.arange(lengths.sum())]


def nearest_other(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Distance (float64 ``[N]``) from each point to the nearest point of another label
    (``inf`` when there is no other label): one exact faiss search per label, each
    label's points against all the others'."""
    out = np.full(len(features), np.inf)
    for label in np.unique(labels):
        inside = labels == label
        if not inside.all():
            out[inside] = nearest(features[~inside], features[inside], 1)[0][:, 0]
    return np.sqrt(np.maximum(out, 0))


def purity_delta(features: np.ndarray, pseudo_labels: np.ndarray, grid: np.ndarray,
                 alpha: float) -> tuple[float, float]:
    """``(δ, purity)``: the largest δ of ``grid`` (ascending) whose δ-balls are pure for at
    least ``alpha`` of the points (the smallest δ if none is), and that fraction.

    A ball ``||x - y|| < δ`` is pure when it holds no point of another pseudo-label, i.e.
    when δ is at most the distance to the nearest point labeled otherwise.
    """
    purities = (nearest_other(features, pseudo_labels)[None, :] >= grid[:, None]).mean(axis=1)
    pure = np.flatnonzero(purities >= alpha)
    best = pure[-1] if pure.size else 0
    return float(grid[best]), float(purities[best])


@dataclass(frozen=True)
class ProbCover(KMeansOptions):
    """Greedy maximum coverage of the pool by δ-balls around labeled points."""

    uses_labels = False
    iterative = True
    cold_start = True

    delta: str | float = "auto-once"
    purity: float = 0.95
    grid_step: float = 0.05
    max_delta: float = 2.0
    _once: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.delta, str):
            if self.delta not in DELTA_RULES:
                raise ValueError(f"delta must be a positive number or one of {', '.join(DELTA_RULES)}, "
                                 f"got {self.delta!r}")
        elif isinstance(self.delta, bool) or not isinstance(self.delta, (int, float)) or not self.delta > 0:
            raise ValueError(f"delta must be a positive number or one of {', '.join(DELTA_RULES)}, got {self.delta!r}")
        if not 0 < self.purity <= 1:
            raise ValueError(f"purity must be in (0, 1], got {self.purity}")
        if not 0 < self.grid_step <= self.max_delta <= 2:
            raise ValueError(f"need 0 < grid_step <= max_delta <= 2 (unit vectors are at most 2 apart), "
                             f"got grid_step={self.grid_step}, max_delta={self.max_delta}")

    def grid(self) -> np.ndarray:
        """The δ values the purity rule considers, ascending."""
        return np.round(self.grid_step * np.arange(1, int(self.max_delta / self.grid_step + 1e-9) + 1), 10)

    def purity_rule(self, features: np.ndarray, num_classes: int, seed: int) -> tuple[float, float]:
        """``(δ, purity)`` of the purity rule on K-means pseudo-labels (K-means seeded by ``seed``)."""
        pseudo = self.cluster_labels(features, min(num_classes, len(features)), seed)
        return purity_delta(features, pseudo, self.grid(), self.purity)

    def choose_delta(self, pool: Pool, rng: np.random.Generator) -> tuple[float, float | None]:
        """``(δ, purity)`` by the ``delta`` option (purity None for a given δ)."""
        if not isinstance(self.delta, str):
            return float(self.delta), None
        features = np.asarray(pool.features)
        if self.delta == "auto-per-step":
            return self.purity_rule(features, pool.num_classes, int(rng.integers(2**31 - 1)))
        key = (features.shape, pool.num_classes, hashlib.sha1(np.ascontiguousarray(features).data).hexdigest())
        if key not in self._once:
            self._once[key] = self.purity_rule(features, pool.num_classes, ONCE_SEED)
        return self._once[key]

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        delta, purity = self.choose_delta(pool, rng)
        pool.info.update(delta=delta, delta_rule=self.delta if isinstance(self.delta, str) else "given",
                         **({} if purity is None else {"purity": purity}))
        indptr, indices = radius_graph(np.asarray(pool.features), delta)
        covered = np.zeros(len(indptr) - 1, dtype=bool)
        covered[_neighbours(indptr, indices, np.asarray(pool.labeled, dtype=np.int64))] = True
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
