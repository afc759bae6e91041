"""``submitit``: run chains as Slurm jobs through submitit (``pip install 'lbal-bench[submitit]'``).

One job array holds one task per chain. The jobs need lbal-bench and the suite's plugins
installed and must see the results directory and the feature cache at the same paths
(a shared filesystem); missing features are extracted by the first task that needs them
while the others wait on the cache's lock (or beforehand with ``lbal-bench features``).

Options: ``folder`` (submitit's logs and pickles, default ``submitit-logs``; on the shared
filesystem), ``cluster`` (default: Slurm when ``sbatch`` is found, else submitit's local
executor; ``local`` and ``debug`` run on this machine), ``slurm_partition``,
``timeout_min`` (default 240), ``cpus_per_task``, ``gpus_per_node``, ``mem_gb``,
``array_parallelism`` (tasks running at once, default 256), and any other submitit
parameter by its name (``slurm_account``, ``slurm_qos``, ``slurm_constraint``, …).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ..errors import LbalError
from . import requires

T = TypeVar("T")
R = TypeVar("R")


class SubmititExecutor:
    """Chains as the tasks of a submitit job array (Slurm, or submitit's local executor)."""

    extracts_features = True

    def __init__(self, folder: str = "submitit-logs", cluster: str | None = None, timeout_min: int = 240,
                 array_parallelism: int = 256, poll_seconds: float = 10.0, **parameters: Any):
        requires("submitit", "submitit")
        import submitit

        try:
            self.executor = submitit.AutoExecutor(folder=Path(folder).resolve() / "%j", cluster=cluster)
            self.executor.update_parameters(
                timeout_min=timeout_min, slurm_array_parallelism=array_parallelism, name="lbal-bench",
                **parameters)
        except (AssertionError, NameError, RuntimeError) as exc:
            raise ValueError(str(exc).splitlines()[0]) from None
        self.poll_seconds = poll_seconds

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        import submitit

        items = list(items)
        if not items:
            return
        jobs = self.executor.map_array(function, items)
        try:
            for job in submitit.helpers.as_completed(jobs, poll_frequency=self.poll_seconds):
                try:
                    yield job.result()
                except submitit.core.utils.UncompletedJobError as exc:
                    raise LbalError(f"executor 'submitit': job {job.job_id} did not finish: {exc}") from None
        finally:
            for job in jobs:
                if not job.done():
                    job.cancel(check=False)
