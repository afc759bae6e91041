"""What the CLI modules share: consoles and plugin loading with warnings printed."""

from __future__ import annotations

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..errors import LbalError
from ..plugins import get_registry
from ..registry import Registry

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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
