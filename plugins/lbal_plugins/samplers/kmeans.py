"""``kmeans``: the paper's single-batch K-means selection (§3).

Pourahmadi, Nooralinejad and Pirsiavash, "A Simple Baseline for Low-Budget Active
Learning", arXiv 2110.12033, 2021. Cluster the L2-normalised unlabeled pool features into
k = budget clusters with faiss K-means and label the point nearest each centre.

Options (``lbal_bench.compute.KMeansOptions``): ``niter=20``, ``nredo=1``,
``init="afkmc2"``, ``max_points_per_centroid=null`` (train on every point).

Where we differ from the original code (UCDvision/low-budget-al, ``fast_kmeans``):

- The original ran 5 random restarts (``nredo=5``, random initial centroids) of 20
  iterations and kept the best. We run once from an AFK-MC² start (a fast approximation
  of k-means++ seeding in faiss >= 1.14): about 4× faster, with a lower mean K-means
  objective, on 128k × 512 clustered features with k = 1000 and on 20k × 128 with
  k = 100 (benchmarks/RESULTS.md, "K-means selection"; docs/protocol.md). The seeding
  costs O(k² · D) on one CPU thread, about 0.5 s at k = 1000, D = 512; at budgets of
  many thousands on a GPU, ``init: random`` may be faster. The original is
  ``options: {nredo: 5, init: random}``.
- The original set ``max_points_per_centroid = 2·N / budget``, which never subsamples;
  by default we train on every point too.
- The original assigned each centre its nearest member and dropped empty clusters, so it
  could return fewer points. Every centre gets its own point here: when two centres share
  a nearest point, the closer centre keeps it and the other takes its next-nearest free
  point, so the result is always exactly ``budget`` unique indices.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.compute import KMeansOptions, nearest_unique


class KMeansSampler(KMeansOptions):
    """Label the pool points nearest to the centres of a k = budget K-means."""

    uses_labels = False
    iterative = False

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        unlabeled = pool.unlabeled
        # the whole pool is read in place (a memory-mapped cache is not copied)
        features = pool.features if len(unlabeled) == len(pool.features) else np.asarray(pool.features)[unlabeled]
        centres = self.centroids(features, budget, seed=int(rng.integers(2**31 - 1)))
        return unlabeled[nearest_unique(features, centres)]


@hookimpl
def lbal_register_samplers(register):
    register("kmeans", KMeansSampler, description="nearest point to each of k = budget K-means centres (paper)",
             default_for=["select"])  # the paper's advice: what `lbal-bench select` uses unless told
