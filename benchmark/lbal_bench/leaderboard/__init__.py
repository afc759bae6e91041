"""The leaderboard: aggregate records over seeds, compare with the paper, render Markdown,
CSV, JSON and plots, and build the static HTML site."""

from .aggregate import aggregate
from .html import write_site
from .render import write_leaderboard

__all__ = ["aggregate", "write_leaderboard", "write_site"]
