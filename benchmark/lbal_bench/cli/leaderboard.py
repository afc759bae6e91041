"""``lbal-bench leaderboard``: rebuild a board from results directories, optionally the site."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import LbalError
from ..leaderboard import write_leaderboard, write_site
from ..leaderboard.aggregate import record_problems
from ..store import merge_results
from .common import console, err_console

NAME = "leaderboard"


def command(
    results_dirs: List[Path] = typer.Argument(
        ..., help="Results directories written by `lbal-bench run`; merged into one board."
    ),
    board: Optional[Path] = typer.Option(None, "--board", help="Output directory [default: leaderboard/<name>]."),
    name: Optional[str] = typer.Option(
        None, "--name", help="Board title [default: the first results directory's name]."
    ),
    html: Optional[Path] = typer.Option(
        None, "--html", help="Also build the static site here, from every board beside this one."
    ),
) -> None:
    """Merge records (one per fingerprint) into Markdown, CSV, JSON and plots; --html adds the site."""
    records, problems = merge_results(results_dirs)
    for problem in [*problems, *record_problems(records)]:
        err_console.print(f"warning: {problem}" + ("" if problem.endswith("left off the board") else "; skipped"),
                          markup=False)
    if not records:
        raise LbalError(f"{', '.join(map(str, results_dirs))}: no sound result records")
    title = name or results_dirs[0].resolve().name
    out = board or Path("leaderboard") / title
    paths = write_leaderboard(records, out, title)
    console.print(f"leaderboard of {len(records)} records written to {out} ({len(paths)} files)")
    if html:
        console.print(f"site: {write_site(out.parent, html)}")
