"""The ``lbal-bench`` command line: one module per command, the work is done in the core."""

from __future__ import annotations

import os

import typer
from typer.core import TyperGroup

from ..errors import LbalError
from .common import err_console


class _Group(TyperGroup):
    """Prints an ``LbalError`` as one line and exits with status 2."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except LbalError as exc:
            if os.environ.get("LBAL_DEBUG") == "1":
                raise
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Group,
    help="Benchmark suite for low-budget active learning on frozen self-supervised features.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[default: …]" is not rich markup
)

from . import cache, check, features, leaderboard, plugins, run, select, submit, validate  # noqa: E402  (each registers its command)

for module in (run, validate, plugins, leaderboard, submit, features, check, select):
    app.command(module.NAME)(module.command)
app.add_typer(cache.app, name=cache.NAME)


def main() -> None:
    """Console-script entry point."""
    app()
