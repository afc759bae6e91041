"""``lbal-bench submit``: check a run's records and pack them for a pull request to the board."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..leaderboard.submission import check_results, submit
from .common import console

NAME = "submit"


def command(
    results_dir: Path = typer.Argument(..., help="A results directory written by `lbal-bench run`."),
    to: Path = typer.Option(Path("leaderboard/results"), "--to", help="Where the board keeps submitted results."),
    name: Optional[str] = typer.Option(None, "--name", help="Board to submit to [default: the records' suite]."),
    check: bool = typer.Option(False, "--check", help="Only check the records (schema, fingerprints, selections)."),
) -> None:
    """Check every record of a run and copy records and selections to <to>/<suite>/."""
    if check:
        console.print(f"{results_dir}: {len(check_results(results_dir))} records pass the checks")
        return
    done = submit(results_dir, to, name)
    console.print(
        f"{done.added} records added to {done.destination} ({done.present} already there); "
        f"commit {done.destination} and open a pull request"
    )
