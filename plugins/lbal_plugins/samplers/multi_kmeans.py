"""``multi_kmeans``: the paper's multi-batch K-means selection (§3.2, "multi K-means").

Pourahmadi, Nooralinejad and Pirsiavash, "A Simple Baseline for Low-Budget Active
Learning", arXiv 2110.12033, 2021. An iterative sampler: at each budget step it clusters
the whole L2-normalised pool (labeled and unlabeled points alike) into k = budget
increment clusters with faiss K-means and labels, for each centre, the nearest point not
labeled yet. The paper starts it from a K-means initial pool (set by the suite).

Options: the ``kmeans`` sampler's, with the same defaults (one greedy k-means++ run;
``lbal_bench.kit.compute.KMeansOptions``).

Where we differ from the original code (UCDvision/low-budget-al, ``accu_kmeans``):

- The K-means settings are the ``kmeans`` sampler's: one greedy k-means++ run instead
  of 5 random restarts (see that sampler; ``options: {nredo: 5, init: random}`` is the
  original).
- The original took, for each centre, the nearest unlabeled member of its own cluster
  among the centre's 200 nearest points, and dropped the centre when its cluster had no
  unlabeled member, so it could return fewer points. We take the nearest unlabeled point
  of the pool; when two centres want the same point the closer one keeps it and the other
  takes its next-nearest free point, so the result is always exactly ``budget`` unique
  unlabeled indices.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import KMeansOptions, nearest_unique


class MultiKMeansSampler(KMeansOptions):
    """Label, for each centre of a k = increment K-means on the pool, the nearest unlabeled point."""

    uses_labels = False
    iterative = True

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        features = np.asarray(pool.features)
        centres = self.centroids(features, budget, seed=int(rng.integers(2**31 - 1)))
        return nearest_unique(features, centres, taken=pool.labeled)


@hookimpl
def lbal_register_samplers(register):
    register(
        "multi_kmeans", MultiKMeansSampler,
        description="nearest unlabeled point to each of k = increment K-means centres on the pool (paper)",
    )
