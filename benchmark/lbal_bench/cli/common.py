"""What the CLI modules share: consoles and plugin loading with warnings printed."""

from __future__ import annotations

import typer.core
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..errors import LbalError
from ..plugins import get_registry
from ..registry import Registry

def _usage_name(argument: typer.core.TyperArgument) -> str:
    """An argument in a usage line as ``SUITE_FILE`` (required) or ``[KEYS]...``, as click
    writes it, not typer's ``{suite_file}``."""
    name = (argument.metavar or argument.name or "").upper()
    return (name if argument.required else f"[{name}]") + ("..." if argument.nargs != 1 else "")


def _display_type(parameter: typer.core._TyperParameter, ctx) -> str:
    """A repeatable option's value type as ``<str>`` (it is given once per use), not ``<list[str]>``."""
    shown = _typer_display_type(parameter, ctx)
    return shown.replace("<list[", "<").replace("]>", ">") if shown else shown


_typer_display_type = typer.core._TyperParameter.display_type
typer.core.TyperArgument._usage_display_name = _usage_name  # every command's help: see the functions' docstrings
typer.core._TyperParameter.display_type = _display_type

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 cell``, ``2 cells``; ``many`` for an irregular plural (``entries``)."""
    return f"{count} {singular if count == 1 else many or singular + 's'}"


def load_registry() -> Registry:
    """The plugin registry, with every broken plugin reported as a warning line."""
    registry = get_registry()
    for problem in registry.problems:
        err_console.print(f"warning: {problem}", markup=False)
    return registry


class RateColumn(ProgressColumn):
    """Items per second of a task that names its ``unit`` (feature extraction: images)."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit")
        return Text(f"{task.speed:,.0f} {unit}/s" if unit and task.speed else "")


def progress_bars() -> Progress:
    """The progress display of long commands: bars, counts, elapsed time, images/s; on
    stderr, shown only on a terminal."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), RateColumn())
    return Progress(*columns, console=err_console, disable=not err_console.is_terminal)


def parse_options(items: list[str], flag: str, example: str = "") -> dict:
    """``KEY=VALUE`` strings as a dict, each VALUE read as YAML (``5``, ``true``, ``[50, 75]``).

    ``flag`` names the option in errors; ``example`` (e.g. ``nredo=5``) is shown with it.
    """
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            hint = f", e.g. {flag} {example}" if example else ""
            raise LbalError(f"{flag} '{item}': expected KEY=VALUE{hint}")
        try:
            options[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise LbalError(f"{flag} '{item}': the value is not valid YAML") from None
    return options
