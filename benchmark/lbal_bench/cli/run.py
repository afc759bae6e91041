"""``lbal-bench run``: execute a suite, resume what is missing, write the leaderboard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..cells import build_grid, expand, select_cells
from ..features import FeatureCache
from ..leaderboard import write_leaderboard
from ..runner import Runner
from ..store import ResultStore
from ..suite import load_suite
from .common import console, err_console, load_registry

NAME = "run"


def command(
    suite_file: Path = typer.Argument(..., help="Suite YAML file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Results directory [default: results/<suite name>]."),
    board: Optional[Path] = typer.Option(None, "--board", help="Leaderboard directory [default: leaderboard/<suite name>]."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Feature cache [default: $LBAL_CACHE_DIR or the user cache]."),
    only: List[str] = typer.Option([], "--only", help="Run only cells with KEY=VALUE (dataset, backbone, sampler, evaluator, seed, budget); repeatable."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells still to compute and stop."),
) -> None:
    """Run a suite: every dataset × backbone × sampler × seed × budget × evaluator cell."""
    registry = load_registry()
    suite = load_suite(suite_file)
    cells = expand(build_grid(suite, registry))
    chosen = select_cells(cells, only)
    store = ResultStore(out or Path("results") / suite.name)
    if dry_run:
        pending = Runner(store, FeatureCache(cache_dir)).pending(chosen)
        table = Table("dataset", "backbone", "sampler", "seed", "budget", "evaluator", "fingerprint")
        for c in pending:
            d = c.display()
            table.add_row(d["dataset"], d["backbone"], d["sampler"], str(c.seed), str(c.budget), d["evaluator"], c.fingerprint)
        console.print(table)
        console.print(f"{len(chosen)} cells: {len(chosen) - len(pending)} done, {len(pending)} to compute")
        return

    start = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, disable=not err_console.is_terminal) as progress:
        summary = Runner(store, FeatureCache(cache_dir), progress, suite.name).run(chosen)
    for problem in summary.problems:
        err_console.print(f"warning: {problem}", markup=False)

    records = [r for c in cells if (r := store.load(c.fingerprint)[0]) is not None]
    out = board or Path("leaderboard") / suite.name
    paths = write_leaderboard(records, out, suite.name)
    console.print(
        f"{suite.name}: computed {summary.computed} cells, {summary.skipped} already done, "
        f"in {time.perf_counter() - start:.1f} s; results in {store.root}"
    )
    console.print(f"leaderboard: {out} ({len(paths)} files)")
