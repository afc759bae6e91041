"""A plugin that registers a sampler name the reference plugins already use."""

from lbal_bench import hookimpl


@hookimpl
def lbal_register_samplers(register):
    register("kmeans", object)
