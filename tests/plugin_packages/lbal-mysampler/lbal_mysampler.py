"""A third-party sampler: the points farthest from the pool's mean feature."""

import numpy as np

from lbal_bench import hookimpl


class FarthestFromMean:
    """Pick the unlabeled points least like the average point."""

    uses_labels = False
    iterative = False

    def select(self, pool, budget, rng):
        unlabeled = pool.unlabeled
        features = np.asarray(pool.features)[unlabeled]
        distance = np.linalg.norm(features - features.mean(axis=0), axis=1)
        return unlabeled[np.argsort(-distance, kind="stable")[:budget]]


@hookimpl
def lbal_register_samplers(register):
    register("farthest", FarthestFromMean, description="points farthest from the mean")


class Reversed:
    """A third-party executor: runs the chains in this process, last one first."""

    extracts_features = False

    def __init__(self, note: str = ""):
        self.note = note

    def map(self, function, items):
        for item in reversed(list(items)):
            yield function(item)


@hookimpl
def lbal_register_executors(register):
    register("reversed", Reversed, description="chains in this process, last first")
