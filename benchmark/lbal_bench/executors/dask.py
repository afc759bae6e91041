"""``dask``: run chains on a dask.distributed cluster (``pip install 'lbal-bench[dask]'``).

``scheduler="tcp://host:8786"`` connects to a running scheduler, whose workers must have
lbal-bench and the suite's plugins installed and see the results directory and the
feature cache at the same paths (a shared filesystem); missing features are then
extracted by the first worker that needs them while the others wait on the cache's lock
(or beforehand with ``lbal-bench features``). Without an address a ``LocalCluster`` of
``jobs`` single-threaded worker processes (default: one per core) runs on this machine,
each capping torch and faiss at ``cores // jobs`` threads.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, TypeVar

from . import cpu_count, limit_threads, requires

T = TypeVar("T")
R = TypeVar("R")


class DaskExecutor:
    """Chains as dask tasks: on the scheduler at ``scheduler``, or on a LocalCluster."""

    def __init__(self, scheduler: str | None = None, jobs: int | None = None):
        requires("dask.distributed", "dask")
        if scheduler is not None and jobs is not None:
            raise ValueError("jobs sizes a LocalCluster: with a scheduler address the cluster's workers run the chains")
        if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
            raise ValueError(f"jobs must be an integer of at least 1, got {jobs!r}")
        self.scheduler = scheduler
        self.jobs = jobs
        self.extracts_features = scheduler is not None

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        from dask.distributed import Client, LocalCluster, as_completed

        items = list(items)
        if not items:
            return
        cluster = None
        if self.scheduler is None:
            workers = self.jobs or cpu_count()
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            with Client(cluster or self.scheduler) as client:
                if cluster is not None:
                    client.run(limit_threads, max(1, cpu_count() // len(cluster.workers)))
                futures = client.map(function, items, pure=False)
                try:
                    for future in as_completed(futures):
                        yield future.result()
                finally:
                    client.cancel(futures)
        finally:
            if cluster is not None:
                cluster.close()
