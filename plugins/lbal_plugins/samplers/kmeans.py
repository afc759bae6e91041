"""``kmeans``: the paper's single-batch K-means selection (§3).

Cluster the L2-normalised pool features into k = budget clusters with faiss K-means
(20 iterations, 5 restarts, trained on the whole pool, as the original code) and label
the point nearest each centre. Unlike the original, which dropped empty clusters and so
could return fewer points, every centre gets its own point: when two centres share a
nearest point, the closer centre keeps it and the other takes its next-nearest free
point, so the result is always exactly ``budget`` unique indices.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.compute import kmeans, nearest_unique


class KMeansSampler:
    """Label the pool points nearest to the centres of a k = budget K-means."""

    uses_labels = False
    iterative = False

    def __init__(self, niter: int = 20, nredo: int = 5):
        if niter < 1 or nredo < 1:
            raise ValueError("niter and nredo must be at least 1")
        self.niter = niter
        self.nredo = nredo

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        unlabeled = pool.unlabeled
        features = np.asarray(pool.features)[unlabeled]
        seed = int(rng.integers(2**31 - 1))
        centres = kmeans(features, budget, seed=seed, niter=self.niter, nredo=self.nredo)
        return unlabeled[nearest_unique(features, centres)]


@hookimpl
def lbal_register_samplers(register):
    register("kmeans", KMeansSampler, description="nearest point to each of k = budget K-means centres (paper)")
