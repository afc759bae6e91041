"""Executors: where a run's cells are computed.

The runner cuts a run into chains (one dataset × backbone × sampler × seed each: its
selections at every budget and their evaluations) and hands them to an executor, which
runs a picklable function on each chain somewhere and yields the results as they finish.
Workers get the cells only (plugins are rebuilt from the worker's own registry); they read
features from the shared feature cache and write records and selections to the shared
results directory themselves, so nothing large goes through a scheduler.

An executor is any object with::

    extracts_features: bool   # True: workers extract missing features (under the cache
                              # lock); False: the submitting process extracts them first
    def map(self, function, items) -> Iterator: ...   # results in any order

Built in: ``local`` (default: in this process, or ``jobs=N`` worker processes),
``dask`` (dask.distributed) and ``submitit`` (Slurm), registered by this module's
``lbal_register_executors`` hook. Other packages add executors with the same hook from a
module named by an entry point in the ``lbal_bench`` group, like any plugin; a factory
takes the options of ``lbal-bench run --executor NAME --executor-option KEY=VALUE``, and
``lbal-bench plugins`` lists every executor.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

from ..errors import LbalError
from ..hookspecs import hookimpl

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``function(item)`` for every item, somewhere; yields the results as they finish."""

    extracts_features: bool

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """The results of ``function`` on ``items``, in the order they complete."""


def make_executor(name: str, options: dict[str, Any]) -> Executor:
    """The executor ``name`` built with ``options``; unknown names and options, and a
    missing optional dependency, give an ``LbalError`` naming the executor."""
    from ..plugins import get_registry

    return get_registry().create("executor", name, options)


@hookimpl
def lbal_register_executors(register):
    from .dask import DaskExecutor
    from .local import LocalExecutor
    from .submitit import SubmititExecutor

    register("local", LocalExecutor, description="this process, or --jobs N worker processes (default)")
    register("dask", DaskExecutor, description="dask.distributed: a LocalCluster or --scheduler ADDRESS")
    register("submitit", SubmititExecutor, description="Slurm job arrays through submitit")


def cpu_count() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def limit_threads(threads: int) -> None:
    """Cap torch's and faiss's thread pools in this process (one worker of several on a machine)."""
    import faiss
    import torch

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)


def requires(module: str, extra: str) -> None:
    """An ``LbalError`` saying how to install ``module`` when it cannot be imported."""
    try:
        __import__(module)
    except ImportError:
        raise LbalError(f"executor '{extra}' needs {module}: pip install 'lbal-bench[{extra}]'") from None
