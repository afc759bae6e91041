"""``local``: run chains in this process, or in a pool of worker processes (``jobs=N``).

Worker processes are started with ``spawn`` (torch's and faiss's thread pools do not
survive ``fork``) and each caps its thread pools (OpenMP, MKL and OpenBLAS as torch,
faiss and numpy use them) at ``cores // jobs`` threads, so N jobs share the machine
instead of each starting a thread per core. A worker imports the plugins once (the
registry is cached per process) and torch only when a cell needs it.

``machine_jobs()`` is the default for ``lbal-bench run`` on this machine: one
single-threaded worker per core. On a busy machine one process with a thread per core
slows down many times over (its threads wait on each other at every parallel region),
while single-threaded processes slow down only in proportion to the CPU they get
(benchmarks/RESULTS.md, "Default suite").
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator, TypeVar

from ..errors import LbalError
from ..guard import PluginStopped
from . import cpu_count

T = TypeVar("T")
R = TypeVar("R")

MAX_DEFAULT_JOBS = 8  # beyond this a worker per core costs more memory (torch, faiss, features) than it gains
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def machine_jobs(cores: int | None = None) -> int:
    """Worker processes for a run on this machine when the user names none: ``LBAL_JOBS``
    when set (the test suite sets 1: its many small runs cost more in worker start-up
    than they gain), else one per core (at most ``MAX_DEFAULT_JOBS``), each then with
    ``cores // jobs`` threads (``threads_per_job``); 1 (in this process) on a single core."""
    given = os.environ.get("LBAL_JOBS")
    if given is not None:
        if not given.isdigit() or int(given) < 1:
            raise LbalError(f"LBAL_JOBS={given!r}: expected a whole number of at least 1")
        return int(given)
    cores = cores or cpu_count()
    return max(1, min(cores, MAX_DEFAULT_JOBS))


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """CPU threads each of ``jobs`` worker processes may use."""
    return max(1, (cores or cpu_count()) // jobs)


def pin_threads(threads: int) -> None:
    """Cap this process's thread pools at ``threads``: the environment variables that
    OpenMP (torch, faiss), MKL and OpenBLAS read when they load, for libraries not loaded
    yet (so torch need not be imported here), and the pools of those already loaded."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it numpy's BLAS keeps its default
        pass
    else:
        threadpool_limits(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "faiss" in sys.modules:
        sys.modules["faiss"].omp_set_num_threads(threads)


class LocalExecutor:
    """In-process (``jobs=1``, the default) or ``jobs`` worker processes on this machine."""

    extracts_features = False

    def __init__(self, jobs: int = 1):
        if not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an integer of at least 1, got {jobs!r}")
        self.jobs = jobs

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        items = list(items)
        if self.jobs == 1 or len(items) <= 1:
            for item in items:
                yield function(item)
            return
        workers = min(self.jobs, len(items))
        pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=pin_threads, initargs=(threads_per_job(workers),),
        )
        try:
            pending = {pool.submit(function, item) for item in items}
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        raise PluginStopped("a worker process died while computing a chain (a plugin called "
                                            "os._exit or was killed)") from None
                    yield result
        finally:
            pool.shutdown(cancel_futures=True)
