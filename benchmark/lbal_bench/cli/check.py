"""``lbal-bench check``: run the sampler conformance checks on an installed sampler."""

from __future__ import annotations

from typing import List

import typer

from ..guard import guarded_checks
from ..testing import TIME_LIMIT, sampler_checks
from .common import console, load_registry, parse_options

NAME = "check"


def command(
    sampler: str = typer.Argument(..., help="Name of an installed sampler (see `lbal-bench plugins`)."),
    option: List[str] = typer.Option([], "--option", "-s", help="KEY=VALUE for the sampler's factory; repeatable "
                                     "(-s as in `select`; -o is still accepted)."),
    option_o: List[str] = typer.Option([], "-o", hidden=True),
    time_limit: float = typer.Option(TIME_LIMIT, "--time-limit", min=0.001, help="Seconds for 50 picks from 2,000 "
                                     "points; also the most any check may take (the sampler is then stopped)."),
) -> None:
    """Check that a sampler keeps the sampler contract: exact count, unique, in range,
    never labeled, deterministic per seed, no hidden labels read, edge budgets, duplicate
    rows, speed. The checks run in a separate process, so a sampler that hangs or exits
    fails its check instead of stopping this one. Exit status 1 when a check fails."""
    registry = load_registry()
    info = registry.get("sampler", sampler)
    options = parse_options([*option, *option_o], "--option", "nredo=5")
    registry.create("sampler", sampler, options)  # a bad option is one line here, before a worker starts
    label = f"sampler '{sampler}' ({info.distribution})"
    results = []
    for r in guarded_checks(sampler, label, options, time_limit):  # printed as each finishes
        console.print(f"{'pass' if r.passed else 'FAIL'}  {r.name:<14} {r.seconds:6.2f} s  {r.message}", markup=False)
        results.append(r)
    passed = sum(r.passed for r in results)
    total = len(sampler_checks(time_limit)) if results and results[0].passed else len(results)  # declares failed: the rest need it
    more = f" ({total - len(results)} not run)" if total > len(results) else ""
    console.print(f"sampler '{sampler}' ({info.distribution} {info.version}): {passed} of {total} checks passed{more}")
    if passed < total:
        raise typer.Exit(1)
