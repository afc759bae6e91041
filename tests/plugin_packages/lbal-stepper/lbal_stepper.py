"""Iterative samplers with predictable picks, to test the runner's budget schedule.

``stepper`` reads the labels of the labeled set, then takes the lowest-numbered unlabeled
points; ``cold_stepper`` does the same but declares ``cold_start`` (it can start from
nothing labeled) and says in ``pool.info`` how many points were labeled when it chose.
"""

from lbal_bench import hookimpl


class Stepper:
    uses_labels = False
    iterative = True

    def select(self, pool, budget, rng):
        pool.oracle.labels(pool.labeled)
        return pool.unlabeled[:budget]


class ColdStepper(Stepper):
    cold_start = True

    def select(self, pool, budget, rng):
        pool.info["labeled_before"] = len(pool.labeled)
        return super().select(pool, budget, rng)


@hookimpl
def lbal_register_samplers(register):
    register("stepper", Stepper)
    register("cold_stepper", ColdStepper)
