"""``random``: uniformly random unlabeled points (the paper's Random baseline).

For one seed the selections at growing budgets are nested (one permutation of the
pool, cut at each budget), as in the paper's original code.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl


class RandomSampler:
    """Pick ``budget`` unlabeled points uniformly at random."""

    uses_labels = False
    iterative = False

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        unlabeled = pool.unlabeled
        return unlabeled[rng.permutation(len(unlabeled))[:budget]]


@hookimpl
def lbal_register_samplers(register):
    register("random", RandomSampler, description="uniformly random points",
             default_for=["initial_pool"])  # iterative samplers without a cold start begin here
