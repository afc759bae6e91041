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
``dask`` (dask.distributed) and ``submitit`` (Slurm). Other packages add executors under
the entry-point group ``lbal_bench.executors`` (``name = "module:Factory"``); a factory
takes the options of ``lbal-bench run --executor NAME --executor-option KEY=VALUE``.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

from ..errors import LbalError
from ..registry import build, did_you_mean

GROUP = "lbal_bench.executors"

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``function(item)`` for every item, somewhere; yields the results as they finish."""

    extracts_features: bool

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """The results of ``function`` on ``items``, in the order they complete."""


def executor_names() -> list[str]:
    """Names of the installed executors."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def make_executor(name: str, options: dict[str, Any]) -> Executor:
    """The executor ``name`` built with ``options``; unknown names and options, and a
    missing optional dependency, give an ``LbalError`` naming the executor."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        hint = did_you_mean(name, executor_names()) or f" (installed: {', '.join(executor_names())})"
        raise LbalError(f"unknown executor '{name}'{hint}")
    if len(found) > 1:
        origins = " and ".join(f"{ep.dist.name if ep.dist else '?'} ({ep.value})" for ep in found)
        raise LbalError(f"executor '{name}' is registered twice: by {origins}")
    try:
        factory = found[0].load()
    except Exception as exc:  # a broken third-party executor
        raise LbalError(f"executor '{name}' failed to load: {type(exc).__name__}: {exc}") from None
    return build(f"executor '{name}'", factory, options)


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
