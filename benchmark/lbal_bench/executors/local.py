"""``local``: run chains in this process, or in a pool of worker processes (``jobs=N``).

Worker processes are started with ``spawn`` (torch's and faiss's thread pools do not
survive ``fork``) and each caps torch and faiss at ``cores // jobs`` threads, so N jobs
share the machine instead of each starting a thread per core.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Callable, Iterable, Iterator, TypeVar

from . import cpu_count, limit_threads

T = TypeVar("T")
R = TypeVar("R")


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
            initializer=limit_threads, initargs=(max(1, cpu_count() // workers),),
        )
        try:
            pending = {pool.submit(function, item) for item in items}
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(cancel_futures=True)
