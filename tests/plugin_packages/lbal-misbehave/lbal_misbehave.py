"""Samplers that break the sampler contract, one way each, for the runner's checks."""

import numpy as np

from lbal_bench import hookimpl


class Misbehaving:
    uses_labels = False
    iterative = False

    def __init__(self, fault):
        self.fault = fault

    def select(self, pool, budget, rng):
        good = pool.unlabeled[:budget]
        if self.fault == "duplicates":
            return np.concatenate([good[:-1], good[:1]])
        if self.fault == "too_few":
            return good[:-1]
        if self.fault == "out_of_range":
            return np.concatenate([good[:-1], [len(pool.features)]])
        if self.fault == "peek":
            return pool.unlabeled[np.argsort(pool.oracle.labels(pool.unlabeled), kind="stable")[:budget]]
        raise RuntimeError("sampler crashed")


@hookimpl
def lbal_register_samplers(register):
    for fault in ("duplicates", "too_few", "out_of_range", "peek", "crash"):
        register(f"bad_{fault}", lambda fault=fault: Misbehaving(fault))
