"""``lbal-bench run``: execute a suite, resume what is missing, write the leaderboard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from .. import api
from ..executors import make_executor
from ..executors.local import machine_jobs
from ..features import FeatureCache
from ..runner import Runner
from ..errors import LbalError
from ..guard import PluginStopped, TimeLimitExecutor
from ..store import ResultStore
from .common import console, err_console, load_registry, parse_options, plural, progress_bars

NAME = "run"


def command(
    suite_file: Path = typer.Argument(..., help="Suite YAML file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Results directory [default: results/<suite name>]."),
    board: Optional[Path] = typer.Option(None, "--board", help="Leaderboard directory [default: leaderboard/<suite name>]."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Feature cache [default: $LBAL_CACHE_DIR or the user cache]."),
    only: List[str] = typer.Option([], "--only", help="Run only cells with KEY=VALUE (dataset, backbone, sampler, evaluator, seed, budget); repeatable."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells still to compute and stop."),
    executor: str = typer.Option("local", "--executor", help="Where cells run: local, dask, submitit (or an installed executor plugin)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="Worker processes on this machine (local; dask without --scheduler) [default for local: one per core, 1 = in this process]."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="dask scheduler address, e.g. tcp://host:8786 (default: a LocalCluster on this machine)."),
    slurm_partition: Optional[str] = typer.Option(None, "--slurm-partition", help="Slurm partition (submitit)."),
    executor_options: List[str] = typer.Option([], "--executor-option", help="KEY=VALUE option of the executor, e.g. timeout_min=600 (submitit); repeatable."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds a cell may take: each chain runs in a worker process that is stopped after this many seconds per cell [default: the suite's time_limit, else none]."),
) -> None:
    """Run a suite: every dataset × backbone × sampler × seed × budget × evaluator cell."""
    load_registry()
    suite, _cells, chosen = api.plan(suite_file, only)
    board_dir = board or Path("leaderboard") / suite.name
    if board_dir.exists() and not board_dir.is_dir():
        raise LbalError(f"--board {board_dir} is a file; give a folder for the leaderboard")
    if dry_run:
        pending = Runner(ResultStore(out or Path("results") / suite.name), FeatureCache(cache_dir)).pending(chosen)
        table = Table("dataset", "backbone", "sampler", "seed", "budget", "evaluator", "fingerprint")
        for c in pending:
            d = c.display()
            table.add_row(d["dataset"], d["backbone"], d["sampler"], str(c.seed), str(c.budget), d["evaluator"], c.fingerprint)
        console.print(table)
        console.print(f"{len(chosen)} cells: {len(chosen) - len(pending)} done, {len(pending)} to compute")
        return

    limit = time_limit if time_limit is not None else suite.time_limit
    if limit is not None and (executor != "local" or jobs not in (None, 1)):
        raise LbalError("a time limit runs the chains one at a time in a worker process: "
                        "it cannot be combined with --jobs or --executor")
    if executor == "local" and jobs is None:
        jobs = machine_jobs()
    given = {"jobs": jobs, "scheduler": scheduler, "slurm_partition": slurm_partition}
    options = {**{k: v for k, v in given.items() if v is not None}, **parse_options(executor_options, "--executor-option")}
    runs_on = TimeLimitExecutor(limit) if limit is not None else make_executor(executor, options)
    start = time.perf_counter()
    store = ResultStore(out or Path("results") / suite.name)
    try:
        with progress_bars() as progress:
            # each warning when it is known: a run that then fails or is stopped still shows it
            result = api.run(suite, out, board=board, cache_dir=cache_dir, only=only, executor=runs_on,
                             progress=progress, on_problem=lambda problem: err_console.print(
                                 f"warning: {problem}", markup=False))
    except PluginStopped as exc:
        missing = len(Runner(store, FeatureCache(cache_dir)).pending(chosen))
        raise LbalError(f"{exc}; {missing} of {len(chosen)} cells have no record") from None
    missing = len(Runner(store, FeatureCache(cache_dir)).pending(chosen))
    if missing:
        raise LbalError(f"{missing} of {len(chosen)} cells have no record after the run; run again to compute them")
    console.print(
        f"{suite.name}: computed {plural(result.summary.computed, 'cell')}, {result.summary.skipped} already done, "
        f"in {time.perf_counter() - start:.1f} s; results in {result.results}"
    )
    console.print(f"leaderboard: {result.board} ({len(result.board_files)} files)")
