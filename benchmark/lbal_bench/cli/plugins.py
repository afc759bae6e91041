"""``lbal-bench plugins``: list every installed plugin."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ..registry import options_of
from .common import console, load_registry

NAME = "plugins"


def command(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List installed plugins: name, kind, distribution, version (--json: also every option
    with its type and default)."""
    plugins = load_registry().all()
    if as_json:
        rows = [
            {"name": p.name, "kind": p.kind, "distribution": p.distribution, "version": p.version,
             "entry_point": p.entry_point, "description": p.meta.get("description", ""),
             "options": [o.describe() for o in options_of(p.factory)]}
            for p in plugins
        ]
        console.print_json(json.dumps(rows))
        return
    table = Table("kind", "name", "distribution", "version", "description")
    for p in plugins:
        table.add_row(p.kind, p.name, p.distribution, p.version, p.meta.get("description", ""))
    console.print(table)
