"""``typiclust``: TypiClust, the most typical point of the largest uncovered clusters.

Hacohen, Dekel and Weinshall, "Active Learning on a Budget: Opposite Strategies Suit
High and Low Budgets", ICML 2022 (reference code: avihu111/TypiClust,
``deep-al/pycls/al/typiclust.py``).

Iterative, and a cold-start method (``cold_start = True``: the paper selects its first
budget from no labels; with ``pool.labeled`` empty every cluster has zero labeled points
and the order is by size alone). At every step the whole pool (labeled and unlabeled points) is
clustered into ``min(|L| + budget, max_clusters)`` clusters with K-means. Clusters of at
most ``min_cluster_size`` points are ignored; the others are ordered by fewest labeled
points, then largest size (ties: smaller cluster id, as the code's stable sort), and
visited round-robin. Each visit labels the cluster's most typical free point, where
typicality is computed among the cluster's free points only (labeled and already picked
points left out, recomputed at every visit, as in the code)::

    typicality(x) = 1 / (mean over its k nearest free cluster-mates of ||x - x_i||^2 + 1e-5)
    k = min(knn, free points in the cluster // 2)

Defaults follow the code: ``knn=20``, ``max_clusters=500``, ``min_cluster_size=5``.
The paper writes typicality with plain L2 distances; the code averages *squared*
distances (faiss ``IndexFlatL2``), and we follow the code. The most typical point is the
one with the smallest mean, so the ``1e-5`` never changes a pick.

Where we differ from the code:

- K-means is the shared one (``lbal_bench.kit.compute.KMeansOptions``, defaults as the
  ``kmeans`` sampler: one greedy k-means++ run, the seeding scikit-learn's ``KMeans``
  uses); the code used scikit-learn ``KMeans`` for at most 50 clusters and
  ``MiniBatchKMeans`` (batch 5000) above, which is ``options: {backend: sklearn}``.
- Exactly ``budget`` unique points always. The code crashes when no cluster is larger
  than ``min_cluster_size`` and when a cluster runs out of free points. Here a cluster
  with no free points left drops out of the rotation, and only once every large cluster
  is exhausted do the small ones (same order) take over, so every unlabeled point is
  reachable and the ignored clusters are used last.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from annotated_types import Ge

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import KMeansOptions, mean_knn_sqdist


@dataclass(frozen=True)
class TypiClust(KMeansOptions):
    """Label the most typical free point of each cluster, fewest-labeled clusters first."""

    uses_labels = False
    iterative = True
    cold_start = True

    knn: Annotated[int, Ge(1)] = 20
    max_clusters: Annotated[int, Ge(1)] = 500
    min_cluster_size: Annotated[int, Ge(0)] = 5

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        features = np.asarray(pool.features)
        k = min(len(pool.labeled) + budget, self.max_clusters, len(features))
        clusters = self.cluster_labels(features, k, seed=int(rng.integers(2**31 - 1)))
        sizes = np.bincount(clusters, minlength=k)
        labeled_counts = np.bincount(clusters[pool.labeled], minlength=k)
        ids = np.flatnonzero(sizes)
        ids = ids[np.lexsort((ids, -sizes[ids], labeled_counts[ids]))]
        large = sizes[ids] > self.min_cluster_size

        free = np.ones(len(features), dtype=bool)
        free[pool.labeled] = False
        members = np.argsort(clusters, kind="stable")  # each cluster's points, ascending
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        chosen = []
        for rotation in (deque(ids[large]), deque(ids[~large])):
            while rotation and len(chosen) < budget:
                cluster = rotation.popleft()
                candidates = members[bounds[cluster]:bounds[cluster + 1]]
                candidates = candidates[free[candidates]]
                if not candidates.size:
                    continue
                pick = candidates[self._most_typical(features[candidates])]
                chosen.append(pick)
                free[pick] = False
                rotation.append(cluster)
        return np.asarray(chosen, dtype=np.int64)

    def _most_typical(self, points: np.ndarray) -> int:
        if len(points) == 1:
            return 0
        return int(np.argmin(mean_knn_sqdist(points, min(self.knn, len(points) // 2))))


@hookimpl
def lbal_register_samplers(register):
    register("typiclust", TypiClust,
             description="most typical point of the largest uncovered K-means clusters (Hacohen et al. 2022)")
