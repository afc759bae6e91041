"""Plots of a board, as PNG and SVG: every table (accuracy or coverage) against the label
budget on a log axis with ±std bands and the paper's values, and class histograms
(paper Table 6b / Fig. 3) as grouped bars per budget.

matplotlib is imported only when a plot is drawn (``lbal-bench --help`` stays fast), with
no pyplot state; outputs carry no dates or versions, so unchanged boards give unchanged files.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write
from .aggregate import heading, histogram_tables, method_label, tables

FORMATS = ("png", "svg")
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
STYLE = {"svg.hashsalt": "lbal-bench", "svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
         "axes.spines.right": False}


def plot_stem(keys: tuple) -> str:
    """The file name (without extension) of the plot of a table or histogram ``keys``."""
    return "-".join(re.sub(r"[^\w.]+", "_", str(k)) for k in keys)


def _save(figure, out: Path, stem: str) -> list[Path]:
    import matplotlib

    paths = []
    with matplotlib.rc_context(STYLE):
        for fmt in FORMATS:
            buffer = io.BytesIO()
            figure.savefig(buffer, format=fmt, metadata=METADATA[fmt], dpi=120, bbox_inches="tight")
            path = out / f"{stem}.{fmt}"
            atomic_write(path, lambda handle: handle.write(buffer.getvalue()))
            paths.append(path)
    return paths


def _budget_axis(axes, budgets: list[int]) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    axes.set_xscale("log")
    axes.xaxis.set_major_locator(FixedLocator(budgets))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([str(b) for b in budgets])
    axes.set_xlabel("labels (budget)")


def budget_plot(table: pd.DataFrame, keys: tuple, out: Path) -> list[Path]:
    """One table's mean ± std against budget, one line per method; the paper's values as
    hollow markers; methods that read labels dashed."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(6.4, 4.0))
        axes = figure.subplots()
        colors = matplotlib.colormaps["tab10"].colors
        for i, (method, rows) in enumerate(table.groupby("method", sort=True)):
            rows = rows.sort_values("budget")
            color = colors[i % len(colors)]
            label_user = bool(rows["uses_labels"].iloc[0])
            axes.plot(rows["budget"], rows["mean"], marker="o", markersize=4, color=color,
                      linestyle="--" if label_user else "-", label=method_label(method, label_user))
            axes.fill_between(rows["budget"], rows["mean"] - rows["std"], rows["mean"] + rows["std"],
                              color=color, alpha=0.15, linewidth=0)
            paper = rows.dropna(subset=["paper_mean"])
            if len(paper):
                axes.plot(paper["budget"], paper["paper_mean"], linestyle="none", marker="s", markersize=6,
                          markerfacecolor="none", color=color, label=f"{method_label(method, label_user)} (paper)")
        _budget_axis(axes, sorted(table["budget"].unique().tolist()))
        axes.set_ylabel(f"{keys[3]} (%)")
        axes.set_title(heading(keys))
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
        return _save(figure, out, plot_stem(keys))


def histogram_plot(entries: list[dict], keys: tuple, out: Path) -> list[Path]:
    """Class histograms (how many classes have 0, 1, 2, … labels), one panel per budget,
    one bar per method and count; means over seeds."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    means = {(e["budget"], e["method"], e["uses_labels"]): e["mean"] for e in entries}
    budgets = sorted({budget for budget, *_ in means})
    methods = sorted({(method, uses_labels) for _, method, uses_labels in means})
    columns = min(len(budgets), 3)
    rows = math.ceil(len(budgets) / columns)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(3.6 * columns, 2.8 * rows), layout="constrained")
        panels = figure.subplots(rows, columns, squeeze=False).ravel()
        colors = matplotlib.colormaps["tab10"].colors
        width = 0.8 / len(methods)
        for panel, budget in zip(panels, budgets):
            for i, method in enumerate(methods):
                mean = means.get((budget, *method))
                if mean is not None:
                    offset = (i - (len(methods) - 1) / 2) * width
                    panel.bar([count + offset for count in range(len(mean))], mean, width=width,
                              color=colors[i % len(colors)], label=method_label(*method))
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.set_title(f"budget {budget}")
            panel.set_xlabel("labels in a class")
            panel.set_ylabel("classes")
        for panel in panels[len(budgets):]:
            panel.set_visible(False)
        legend = {label: handle for panel in panels for handle, label in zip(*panel.get_legend_handles_labels())}
        figure.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=len(methods), fontsize=8,
                      frameon=False)
        figure.suptitle(heading(keys))
        return _save(figure, out, plot_stem(keys))


def write_plots(board: pd.DataFrame, histograms: list[dict], out: Path) -> list[Path]:
    """Every plot of a board into ``out``; plot files of tables that no longer exist are removed."""
    out = Path(out)
    paths = [p for keys, table, _ in tables(board) for p in budget_plot(table, keys, out)]
    paths += [p for keys, entries in histogram_tables(histograms).items() for p in histogram_plot(entries, keys, out)]
    for stale in {p for fmt in FORMATS for p in out.glob(f"*.{fmt}")} - set(paths):
        stale.unlink()
    return paths
