"""``lbal-bench validate``: check a suite without running it."""

from __future__ import annotations

from pathlib import Path

import typer

from ..cells import build_grid, expand
from ..suite import load_suite
from .common import console, load_registry

NAME = "validate"


def command(suite_file: Path = typer.Argument(..., help="Suite YAML file.")) -> None:
    """Check a suite: schema, plugin names and options, budgets against each pool."""
    registry = load_registry()
    suite = load_suite(suite_file)
    cells = expand(build_grid(suite, registry))
    console.print(f"{suite_file}: valid suite '{suite.name}' with {len(cells)} cells")
