"""``lbal-bench check``: run the sampler conformance checks on an installed sampler."""

from __future__ import annotations

from typing import List

import typer

from ..testing import TIME_LIMIT, iter_checks
from .common import console, load_registry, parse_options

NAME = "check"



def command(
    sampler: str = typer.Argument(..., help="Name of an installed sampler (see `lbal-bench plugins`)."),
    option: List[str] = typer.Option([], "--option", "-o", help="KEY=VALUE for the sampler's factory; repeatable."),
    time_limit: float = typer.Option(TIME_LIMIT, "--time-limit", help="Seconds for 50 picks from 2,000 points."),
) -> None:
    """Check that a sampler keeps the sampler contract: exact count, unique, in range,
    never labeled, deterministic per seed, no hidden labels read, edge budgets, duplicate
    rows, speed. Exit status 1 when a check fails."""
    registry = load_registry()
    info = registry.get("sampler", sampler)
    built = registry.create("sampler", sampler, parse_options(option, "--option", "nredo=5"))
    results = []
    for r in iter_checks(built, time_limit):  # printed as each finishes: a slow sampler shows progress
        console.print(f"{'pass' if r.passed else 'FAIL'}  {r.name:<14} {r.seconds:6.2f} s  {r.message}", markup=False)
        results.append(r)
    passed = sum(r.passed for r in results)
    console.print(f"sampler '{sampler}' ({info.distribution} {info.version}): {passed} of {len(results)} checks passed")
    if passed < len(results):
        raise typer.Exit(1)
