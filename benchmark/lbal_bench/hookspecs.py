"""Hook specifications: what an lbal-bench plugin can provide.

A plugin is a module named by an entry point in the ``lbal_bench`` group. It implements
one or more of the hooks below with ``@lbal_bench.hookimpl``. Each hook receives a
``register`` callback; call it once per thing the plugin provides::

    register(name, factory, **meta)

``name`` is what suites use; ``factory(**options)`` builds the object from the options a
suite gives (it must be cheap: defer heavy work to the first real call); ``meta`` is
free-form (``description=...`` is shown by ``lbal-bench plugins``). The objects' contracts
are in :mod:`lbal_bench.contracts`.
"""

import pluggy

hookspec = pluggy.HookspecMarker("lbal_bench")
hookimpl = pluggy.HookimplMarker("lbal_bench")


@hookspec
def lbal_register_samplers(register):
    """Called once at start-up; register selection strategies (see ``contracts.Sampler``)."""


@hookspec
def lbal_register_backbones(register):
    """Called once at start-up; register feature extractors (see ``contracts.Backbone``, and
    ``contracts.TrainableBackbone`` for one the image evaluators can train)."""


@hookspec
def lbal_register_datasets(register):
    """Called once at start-up; register datasets (see ``contracts.Dataset``)."""


@hookspec
def lbal_register_evaluators(register):
    """Called once at start-up; register evaluation protocols (see ``contracts.Evaluator``, and
    ``contracts.ImageEvaluator`` for one that trains on images)."""


@hookspec
def lbal_register_executors(register):
    """Called once at start-up; register engines that run a suite's chains (see
    ``lbal_bench.executors.Executor``; ``lbal-bench run --executor NAME``). The factory
    takes the options of ``--executor-option KEY=VALUE``; lbal-bench registers ``local``,
    ``dask`` and ``submitit`` itself."""
