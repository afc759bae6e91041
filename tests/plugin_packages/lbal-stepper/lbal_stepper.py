"""An iterative sampler with predictable picks, to test the runner's budget schedule:
it reads the labels of the labeled set, then takes the lowest-numbered unlabeled points."""

from lbal_bench import hookimpl


class Stepper:
    uses_labels = False
    iterative = True

    def select(self, pool, budget, rng):
        pool.oracle.labels(pool.labeled)
        return pool.unlabeled[:budget]


@hookimpl
def lbal_register_samplers(register):
    register("stepper", Stepper)
