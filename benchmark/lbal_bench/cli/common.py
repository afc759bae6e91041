"""What the CLI modules share: consoles and plugin loading with warnings printed."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

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
