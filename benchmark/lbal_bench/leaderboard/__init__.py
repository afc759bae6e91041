"""The leaderboard: aggregate records over seeds, render Markdown, CSV and JSON."""

from .aggregate import aggregate
from .render import write_leaderboard

__all__ = ["aggregate", "write_leaderboard"]
