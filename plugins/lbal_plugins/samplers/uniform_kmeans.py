"""``uniform_kmeans``: an equal number of points per class, K-means-selected inside each
class (uses the labels).

The "Uniform(K-means)" row of Pourahmadi, Nooralinejad and Pirsiavash, "A Simple Baseline
for Low-Budget Active Learning" (arXiv, 2021), §4.5 and Table 10: like ``uniform`` it
reads every label to give each class the same share of the budget, but instead of random
points it takes the points nearest the centres of a K-means with as many clusters as the
class's share, run on that class's unlabeled points. The paper describes it in one
sentence ("uses number of classes to cluster the dataset and selects equal number of
examples per cluster") and counts it among the methods that "take advantage of
annotation information"; we read the clusters as the classes, and the rest as the
``kmeans`` sampler applied per class. Single batch; the leaderboard marks it †.

Shares: exactly ``uniform``'s (the same rule and the same ``rng`` draws: ``budget // C``
per class, the remainder to randomly ordered classes, a class with too few points gives
what it has), so the class counts of ``uniform_kmeans`` and ``uniform`` agree for a seed.
A class whose share is all its unlabeled points gives them all.

Options: the ``kmeans`` sampler's, with its defaults (``lbal_bench.kit.compute.KMeansOptions``:
one greedy k-means++ run of at most 20 iterations).
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import KMeansOptions, nearest_unique

from .uniform import UniformSampler


class UniformKMeansSampler(KMeansOptions):
    """Per class, the points nearest the centres of a K-means with k = the class's share."""

    uses_labels = True
    iterative = False

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        shares = pool.oracle.labels(UniformSampler().select(pool, budget, rng))
        unlabeled = pool.unlabeled
        labels = pool.oracle.labels(unlabeled)
        chosen = []
        for label, share in zip(*np.unique(shares, return_counts=True)):
            members = unlabeled[labels == label]
            seed = int(rng.integers(2**31 - 1))
            if share == len(members):
                chosen.append(members)
                continue
            features = np.asarray(pool.features[members], dtype=np.float32)
            chosen.append(members[nearest_unique(features, self.centroids(features, int(share), seed))])
        return np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)


@hookimpl
def lbal_register_samplers(register):
    register("uniform_kmeans", UniformKMeansSampler,
             description="equal count per class, K-means-selected within each class; reads every label (Table 10)")
