"""``uniform``: an equal number of random points per class (uses the labels).

The "Uniform" upper-bound baseline of Pourahmadi, Nooralinejad and Pirsiavash, "A Simple
Baseline for Low-Budget Active Learning" (arXiv, 2021), §4: the class-balanced training
sets few-shot and semi-supervised papers assume, which cannot be built without knowing
every label. Single batch; no options. The leaderboard marks it †.

Rule: the unlabeled points are dealt round-robin over the classes. Each class's points
are put in a random order and the classes in a random order (both from ``rng``); round
``r`` takes the ``r``-th point of every class that still has one, in that class order,
and the selection is the first ``budget`` points dealt. So every class gets
``budget // C`` points when it has them (``C`` = classes with unlabeled points), the
``budget % C`` left over go one each to the first classes of the shuffled order, and a
class with too few points gives what it has while the others share its quota, always
``budget`` unique points, the class counts differing by at most one among the classes
not exhausted. Selections are nested across budgets for a seed.

Differences from the original ``uniform`` (UCDvision/low-budget-al ``strategies.py``):
it took ``budget // C`` points per class and dropped the remainder and the quota of
classes too small to fill it (ImageNet-LT), so it could return fewer than ``budget``
points; here the remainder and those quotas are dealt to other classes.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl


class UniformSampler:
    """Equal random counts per class, round-robin over the classes in a random order."""

    uses_labels = True
    iterative = False

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        unlabeled = pool.unlabeled
        labels = pool.oracle.labels(unlabeled)
        # group the points by class, in a random order inside each class
        by_class = np.lexsort((rng.permutation(len(unlabeled)), labels))
        grouped = labels[by_class]
        rank = np.empty(len(unlabeled), dtype=np.int64)
        rank[by_class] = np.arange(len(unlabeled)) - np.searchsorted(grouped, grouped, side="left")
        class_position = np.empty(int(labels.max(initial=-1)) + 1, dtype=np.int64)
        class_position[rng.permutation(len(class_position))] = np.arange(len(class_position))
        dealt = np.lexsort((class_position[labels], rank))
        return unlabeled[dealt[:budget]]


@hookimpl
def lbal_register_samplers(register):
    register("uniform", UniformSampler, description="equal random count per class; reads every label (upper bound)")
