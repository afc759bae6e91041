"""``kmeanspp``: k-means++ seeding (Arthur & Vassilvitskii, SODA 2007) as a sampler.

Each pick is drawn with probability proportional to its squared distance to the
nearest point picked or labeled so far (D² sampling), so picks spread over the pool's
dense regions without running K-means. The first pick, when nothing is labeled, is
uniform. ``trials`` > 1 is "greedy k-means++": draw that many candidates per pick and
keep the one that lowers the sum of squared distances most.

Pools of copies are handled: once every unlabeled point sits on a picked or labeled
one (all distances zero), picks continue uniformly among the points left.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from annotated_types import Ge

from lbal_bench import hookimpl

BLOCK = 4096  # points compared at a time when measuring distances to the labeled set


def squared_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared L2 distance of every row of ``x`` to its nearest row of ``centres``."""
    best = np.full(len(x), np.inf, dtype=np.float32)
    norms = (x * x).sum(axis=1)
    for start in range(0, len(centres), BLOCK):
        c = centres[start:start + BLOCK]
        d = norms[:, None] - 2 * x @ c.T + (c * c).sum(axis=1)[None, :]
        best = np.minimum(best, d.min(axis=1))
    return np.maximum(best, 0)


class KMeansPlusPlus:
    """Pick points by D² sampling from the labeled set and the picks so far."""

    uses_labels = False  # never asks the oracle for a label
    iterative = False  # selects from scratch at every budget (labeled points, if any, count as picked)

    def __init__(self, trials: Annotated[int, Ge(1)] = 1):  # lbal-bench checks the declared range
        self.trials = trials

    def select(self, pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(pool.features, dtype=np.float32)
        free = np.ones(len(x), dtype=bool)
        free[pool.labeled] = False
        distance = squared_distances(x, x[pool.labeled]) if len(pool.labeled) else None
        chosen = []
        for _ in range(budget):
            weights = np.where(free, distance, 0) if distance is not None else free.astype(np.float64)
            if weights.sum() <= 0:  # every free point is a copy of a picked one
                weights = free.astype(np.float64)
            candidates = rng.choice(len(x), size=self.trials, p=weights / weights.sum())
            pick = self._best(x, candidates, distance)
            chosen.append(pick)
            free[pick] = False
            new = ((x - x[pick]) ** 2).sum(axis=1)
            distance = new if distance is None else np.minimum(distance, new)
        return np.asarray(chosen, dtype=np.int64)

    def _best(self, x: np.ndarray, candidates: np.ndarray, distance: np.ndarray | None) -> int:
        """The candidate that leaves the smallest total squared distance."""
        if len(candidates) == 1 or distance is None:
            return int(candidates[0])
        cost = [np.minimum(distance, ((x - x[c]) ** 2).sum(axis=1)).sum() for c in candidates]
        return int(candidates[int(np.argmin(cost))])


@hookimpl
def lbal_register_samplers(register):
    register("kmeanspp", KMeansPlusPlus, description="k-means++ seeding (D² sampling)")
