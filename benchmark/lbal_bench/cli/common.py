"""What the CLI modules share: consoles and plugin loading with warnings printed."""

from __future__ import annotations

from rich.console import Console

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
