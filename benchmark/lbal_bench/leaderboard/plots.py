"""Plots of a board, as PNG and SVG: every table (accuracy or coverage) against the label
budget on a log axis with ±std bands and the paper's values, and class histograms
(paper Table 6b / Fig. 3) as grouped bars per budget. Every method variant keeps one
look (colour, marker, line style) across a board's plots, and the paper's methods (those
its tables name) look different from later ones at a glance: solid and filled against
dashed and hollow.

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
from .aggregate import heading, histogram_tables, method_rows, selection_key, tables, variant_labels

FORMATS = ("png", "svg")
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
GROUPS = {True: "the paper's methods", False: "since the paper"}  # legend headings
MARKERS = ["o", "^", "D", "v", "P", "X", "<", ">", "h"]  # no square: that is the paper's value
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


def _plain(text: str) -> str:
    """``text`` as matplotlib draws it verbatim (``$`` would start mathtext)."""
    return text.replace("$", r"\$")


def plot_styles(variants: dict[tuple, bool]) -> dict[tuple, dict]:
    """A distinct look per method variant (``variant → paper_method``), the same in every
    plot of a board: colour and marker from cycles of 20 and 9 (so no two of the first 180
    share both), the paper's methods first. Variants that differ only in evaluator options
    (which belong to a table, not to a selection) share a look. The paper's methods have
    solid lines and filled markers, later methods dashed lines and hollow markers; methods
    that read labels dotted."""
    import matplotlib

    tab20 = matplotlib.colormaps["tab20"].colors
    colours = [*tab20[0::2], *tab20[1::2]]  # the ten strong shades, then their light partners
    paper = {}
    for variant, is_paper in variants.items():
        paper[selection_key(variant)] = paper.get(selection_key(variant), False) or is_paper
    order = sorted(paper, key=lambda k: (not paper[k], *map(str, k)))
    looks = {}
    for i, key in enumerate(order):
        colour = colours[i % len(colours)]
        looks[key] = {
            "color": colour, "marker": MARKERS[i % len(MARKERS)], "paper": paper[key],
            "linestyle": ":" if key[1] else "-" if paper[key] else "--",
            "markerfacecolor": colour if paper[key] else "white", "hatch": None if paper[key] else "////",
        }
    return {variant: looks[selection_key(variant)]
            for variant in sorted(variants, key=lambda v: (order.index(selection_key(v)), *map(str, v)))}


def legend_entries(styles: dict[tuple, dict], variants) -> list[tuple[tuple, dict]]:
    """``(variant, style)`` for the variants of one plot, in legend order, each named by
    what tells it from the plot's other variants; two that would look alike there (same
    selection, other evaluator options) are told apart by a dash-dot line and a star."""
    chosen = [v for v in styles if v in set(variants)]
    labels = variant_labels(chosen)
    seen, result = set(), []
    for variant in chosen:
        style = {**styles[variant], "label": _plain(labels[variant])}
        if (style["color"], style["marker"]) in seen:
            style.update(linestyle="-.", marker="*")
        seen.add((style["color"], style["marker"]))
        result.append((variant, style))
    return result


def _legend_handles(shown: list[tuple[tuple, dict]], paper_values: bool) -> list:
    """Legend entries: the paper's methods, then later ones, each group under a heading."""
    from matplotlib.lines import Line2D

    handles = []
    for paper, title in GROUPS.items():
        group = [style for _, style in shown if style["paper"] == paper]
        if group:
            handles.append(Line2D([], [], linestyle="none", label=title))
            handles += [Line2D([], [], color=style["color"], linestyle=style["linestyle"], marker=style["marker"],
                               markersize=5, markerfacecolor=style["markerfacecolor"], label=style["label"])
                        for style in group]
    if paper_values:
        handles.append(Line2D([], [], linestyle="none", marker="s", markersize=7, markerfacecolor="none",
                              color="0.3", label="the paper's value"))
    return handles


def budget_plot(table: pd.DataFrame, keys: tuple, out: Path, styles: dict[tuple, dict] | None = None) -> list[Path]:
    """One table's mean ± std against budget, one line per method variant (``plot_styles``);
    the paper's values as hollow squares in the method's colour."""
    import matplotlib
    from matplotlib.figure import Figure

    rows_of = dict(method_rows(table))
    styles = styles or plot_styles({v: bool(next(iter(r.values()))["paper_method"]) for v, r in rows_of.items()})
    shown = legend_entries(styles, rows_of)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(6.4, max(4.0, 0.17 * (len(shown) + 4))))
        axes = figure.subplots()
        paper_values = False
        for variant, style in shown:
            rows = pd.DataFrame(list(rows_of[variant].values())).sort_values("budget")
            std = rows["std"].fillna(0.0)
            axes.plot(rows["budget"], rows["mean"], marker=style["marker"], markersize=5, color=style["color"],
                      linestyle=style["linestyle"], markerfacecolor=style["markerfacecolor"], linewidth=1.3)
            axes.fill_between(rows["budget"], rows["mean"] - std, rows["mean"] + std, color=style["color"],
                              alpha=0.12, linewidth=0)
            paper = rows.dropna(subset=["paper_mean"])
            if len(paper):
                paper_values = True
                axes.plot(paper["budget"], paper["paper_mean"], linestyle="none", marker="s", markersize=7,
                          markerfacecolor="none", color=style["color"])
        _budget_axis(axes, sorted(table["budget"].unique().tolist()))
        axes.set_ylabel(_plain(f"{keys[3]} (%)"))
        axes.set_title(_plain(heading(keys)))
        axes.grid(alpha=0.3)
        legend = axes.legend(handles=_legend_handles(shown, paper_values), fontsize=7, frameon=False,
                             loc="upper left", bbox_to_anchor=(1.01, 1))
        for text in legend.get_texts():
            if text.get_text() in GROUPS.values():
                text.set_fontweight("bold")
        return _save(figure, out, plot_stem(keys))


def histogram_plot(entries: list[dict], keys: tuple, out: Path, styles: dict[tuple, dict] | None = None) -> list[Path]:
    """Class histograms (how many classes have 0, 1, 2, … labels), one panel per budget,
    one bar per method variant and count (later methods hatched); means over seeds."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    means = {(e["budget"], _variant(e)): e["mean"] for e in entries}
    budgets = sorted({budget for budget, _ in means})
    styles = styles or plot_styles({_variant(e): bool(e.get("paper_method")) for e in entries})
    methods = legend_entries(styles, {v for _, v in means})
    columns = min(len(budgets), 3)
    rows = math.ceil(len(budgets) / columns)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(3.6 * columns, 2.8 * rows + 0.25 * math.ceil(len(methods) / 4)),
                        layout="constrained")
        panels = figure.subplots(rows, columns, squeeze=False).ravel()
        width = 0.8 / len(methods)
        for panel, budget in zip(panels, budgets):
            for i, (variant, style) in enumerate(methods):
                mean = means.get((budget, variant))
                if mean is not None:
                    offset = (i - (len(methods) - 1) / 2) * width
                    panel.bar([count + offset for count in range(len(mean))], mean, width=width,
                              color=style["color"] if style["paper"] else "white", edgecolor=style["color"],
                              hatch=style["hatch"], linewidth=0.6, label=style["label"])
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.set_title(f"budget {budget}")
            panel.set_xlabel("labels in a class")
            panel.set_ylabel("classes")
        for panel in panels[len(budgets):]:
            panel.set_visible(False)
        legend = {label: handle for panel in panels for handle, label in zip(*panel.get_legend_handles_labels())}
        figure.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=min(len(methods), 4),
                      fontsize=8, frameon=False)
        figure.suptitle(_plain(heading(keys)))
        return _save(figure, out, plot_stem(keys))


def _variant(entry: dict) -> tuple:
    return entry["method"], bool(entry["uses_labels"]), entry["start"], entry["options"]


def write_plots(board: pd.DataFrame, histograms: list[dict], out: Path) -> list[Path]:
    """Every plot of a board into ``out``; plot files of tables that no longer exist are removed."""
    out = Path(out)
    variants = {variant: bool(next(iter(rows.values()))["paper_method"]) for variant, rows in method_rows(board)}
    for entry in histograms:
        variants[_variant(entry)] = variants.get(_variant(entry), False) or bool(entry.get("paper_method"))
    styles = plot_styles(variants)
    paths = [p for keys, table, _ in tables(board) for p in budget_plot(table, keys, out, styles)]
    paths += [p for keys, entries in histogram_tables(histograms).items()
              for p in histogram_plot(entries, keys, out, styles)]
    for stale in {p for fmt in FORMATS for p in out.glob(f"*.{fmt}")} - set(paths):
        stale.unlink()
    return paths
