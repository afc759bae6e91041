"""``lbal-bench leaderboard``: rebuild the leaderboard from a results directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import LbalError
from ..leaderboard import aggregate, write_leaderboard
from ..store import ResultStore
from .common import console, err_console

NAME = "leaderboard"


def command(
    results_dir: Path = typer.Argument(..., help="A results directory written by `lbal-bench run`."),
    board: Optional[Path] = typer.Option(None, "--board", help="Output directory [default: leaderboard/<results dir name>]."),
) -> None:
    """Aggregate every record of a results directory into Markdown, CSV and JSON."""
    records, problems = ResultStore(results_dir).all()
    for problem in problems:
        err_console.print(f"warning: {problem}; skipped", markup=False)
    if not records:
        raise LbalError(f"{results_dir}: no result records found")
    out = board or Path("leaderboard") / results_dir.resolve().name
    paths = write_leaderboard(aggregate(records), out, results_dir.resolve().name)
    console.print(f"leaderboard of {len(records)} records written to {', '.join(map(str, paths))}")
