"""Samplers that break the sampler contract, one way each, for the runner's checks."""

import numpy as np

from lbal_bench import hookimpl

FAULTS = ("duplicates", "too_few", "out_of_range", "labeled", "floats", "peek", "crash")


class Misbehaving:
    uses_labels = False

    def __init__(self, fault):
        self.fault = fault
        self.iterative = fault == "labeled"  # to be given a labeled set to return

    def select(self, pool, budget, rng):
        good = pool.unlabeled[:budget]
        if self.fault == "duplicates":
            return np.concatenate([good[:-1], good[:1]])
        if self.fault == "too_few":
            return good[:-1]
        if self.fault == "out_of_range":
            return np.concatenate([good[:-1], [len(pool.features)]])
        if self.fault == "labeled":
            return np.concatenate([good[:-1], pool.labeled[:1]])
        if self.fault == "floats":
            return good.astype(np.float64)
        if self.fault == "peek":
            return pool.unlabeled[np.argsort(pool.oracle.labels(pool.unlabeled), kind="stable")[:budget]]
        raise RuntimeError("sampler crashed")


@hookimpl
def lbal_register_samplers(register):
    for fault in FAULTS:
        register(f"bad_{fault}", lambda fault=fault: Misbehaving(fault))
