"""Render a board as Markdown (rankings by AUBC first, then one table per dataset ×
backbone × evaluator × metric: method variants as rows, budgets as columns, the best
method per budget in bold, the AUBC last, the paper's value in a row under each method
that has one, the plot below), CSV and JSON; and write a board directory with its plots.

A board directory is written whole into a sibling temporary directory and swapped in
(``RENAME_EXCHANGE`` where the system has it), so a reader, or a board write killed at
any moment, finds the old board or the new one, never a mix.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import pandas as pd
from tabulate import tabulate

from ..atomic import _alive, _umask, atomic_write_text  # the same liveness test and mode as its temp files
from ..errors import LbalError
from ..store import Record
from .aggregate import (LABEL_MARK, aggregate, aubc, heading, histogram_tables, histograms, method_label,
                        method_rows, provenance, rank_heading, rankings, seeds_text, shows_options, tables)
from .plots import plot_stem, write_plots

T = TypeVar("T")
MISSING = "—"
HISTOGRAM_NOTE = "How many classes have 0, 1, 2, … labeled examples (mean over seeds), per budget."
LEGEND = [
    "Mean ± std over seeds, in percent (no std for a single seed). Methods are rows, label budgets are columns.",
    "Bold: the best method at each budget among those that do not read labels.",
    f"{LABEL_MARK} marks methods that read the pool's labels to select (not comparable as active learning).",
    "start: how the selection chain started (from 0: no labels; from 10 random: an iterative sampler started "
    "from 10 points picked by random; unknown: a record written before lbal-bench stored it). options: the "
    "sampler's and evaluator's options that differ from the plugins' defaults (default: none; shown where a "
    "table has any). Rows that differ in either are separate rows.",
    "AUBC: the area under the budget curve with the budget on a log axis, divided by the width of that axis "
    "(ln of the largest budget − ln of the smallest): the curve's mean accuracy in percent over the table's "
    "budgets, trapezoid rule, each stretch between two budgets weighted by its log-length; mean ± std over "
    "the seeds that have every budget. A row missing a budget has none.",
    "Rank: per table, the methods that do not read labels ranked by AUBC (1 = best, ties share the mean rank); "
    "mean rank: the mean over the datasets where a method has one, with (k/n) where that is k of n datasets.",
    "paper: the value published in the paper for the same dataset, backbone, evaluation, method and budget, "
    "with our difference to it (Δ = ours − paper) and the paper's table.",
]
BOARD_FILES = ("leaderboard.md", "leaderboard.csv", "leaderboard_aubc.csv", "leaderboard.json", "plots")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*|\[\]<>~#])")
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md(text: object) -> str:
    """``text`` with the characters that Markdown would read as markup (``|``, ``**``,
    brackets, …) escaped; underscores inside words (``max_entropy``) stay as they are."""
    return _LONE_UNDERSCORE.sub(r"\\_", _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)))


def mean_std(mean: float, std: float) -> str:
    """``72.1 ± 2.2``, or ``72.1`` when there is no std."""
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"


def cell_text(row: pd.Series, seeds: int) -> str:
    """Our value (bare; the caller highlights the best), with the seed count when it is
    below the table's ``seeds``."""
    text = mean_std(row["mean"], row["std"])
    return text if row["seeds"] == seeds else f"{text} (n={row['seeds']})"


def aubc_text(row: pd.Series | None, seeds: int) -> str:
    """A row's AUBC (``MISSING`` without one), with its seed count when below ``seeds``."""
    if row is None or pd.isna(row["aubc"]):
        return MISSING
    text = mean_std(row["aubc"], row["aubc_std"])
    return text if row["seeds"] >= seeds else f"{text} (n={row['seeds']})"


def rank_text(row: pd.Series) -> str:
    """``78.3 ± 1.2 · #2`` (the AUBC and the rank on a dataset)."""
    text = aubc_text(row, 0)
    return text if pd.isna(row["rank"]) else f"{text} · #{row['rank']:g}"


def mean_rank_text(row: pd.Series) -> str:
    """``2.50``, or ``2.50 (2/3)`` when ranked on fewer than all datasets; ``—`` unranked."""
    if pd.isna(row["mean_rank"]):
        return MISSING
    text = f"{row['mean_rank']:.2f}"
    return text if row["datasets_ranked"] == row["datasets"] else f"{text} ({row['datasets_ranked']}/{row['datasets']})"


def paper_text(row: pd.Series) -> str:
    """``80.0 ± 0.0 (Δ −7.9, Table 2)`` for a row that matches the paper."""
    diff = f"{row['paper_diff']:+.1f}".replace("-", "−")
    return f"{mean_std(row['paper_mean'], row['paper_std'])} (Δ {diff}, Table {row['paper_table']})"


def summary_rows(summary: pd.DataFrame, keys: tuple) -> dict[tuple, pd.Series]:
    """The AUBC rows of one table, by variant (method, uses_labels, start, options)."""
    if summary.empty:
        return {}
    rows = summary[(summary[["dataset", "backbone", "evaluator", "metric"]] == pd.Series(dict(
        zip(["dataset", "backbone", "evaluator", "metric"], keys)))).all(axis=1)]
    return {(r["method"], bool(r["uses_labels"]), r["start"], r["options"]): r for _, r in rows.iterrows()}


def _bold(text: str, best: bool) -> str:
    return f"**{text}**" if best and text != MISSING else text


def _pipe_table(rows: list[list[str]], headers: list[str], left: int) -> str:
    return tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True,
                    colalign=["left"] * left + ["right"] * (len(headers) - left))


def _markdown_table(table: pd.DataFrame, seeds: int, areas: dict[tuple, pd.Series]) -> str:
    budgets = sorted(table["budget"].unique().tolist())
    options = shows_options(table)
    rows = []
    for variant, by_budget in method_rows(table):
        method, uses_labels, start, chosen = variant
        label = [md(method_label(method, uses_labels)), md(start), *([md(chosen)] if options else [])]
        ours = [MISSING if b not in by_budget else _bold(cell_text(by_budget[b], seeds), by_budget[b]["best"])
                for b in budgets]
        area = areas.get(variant)
        rows.append([*label, *ours, _bold(aubc_text(area, seeds), area is not None and bool(area["best"]))])
        matched = {b: paper_text(row) for b, row in by_budget.items() if pd.notna(row["paper_mean"])}
        if matched:
            rows.append([f"{label[0]}: paper", *[""] * (len(label) - 1),
                         *(matched.get(b, MISSING) for b in budgets), ""])
    headers = ["method", "start", *(["options"] if options else []), *map(str, budgets), "AUBC"]
    return _pipe_table(rows, headers, 3 if options else 2)


def _markdown_ranking(datasets: list[str], variants: list) -> str:
    options = any(variant[3] != "default" for variant, _ in variants)
    rows = []
    for (method, uses_labels, start, chosen), by_dataset in variants:
        first = next(iter(by_dataset.values()))
        rows.append([md(method_label(method, uses_labels)), md(start), *([md(chosen)] if options else []),
                     *(rank_text(by_dataset[d]) if d in by_dataset else MISSING for d in datasets),
                     mean_rank_text(first)])
    headers = ["method", "start", *(["options"] if options else []), *map(md, datasets), "mean rank"]
    return _pipe_table(rows, headers, 3 if options else 2)


def markdown(board: pd.DataFrame, title: str, histogram_keys: Iterable[tuple] = (),
             summary: pd.DataFrame | None = None) -> str:
    """The board as a Markdown document, with its plots (``plots/*.svg``) linked."""
    summary = pd.DataFrame() if summary is None else summary
    lines = [f"# lbal-bench leaderboard: {md(title)}", "", *LEGEND, ""]
    if not summary.empty:
        for keys, datasets, variants in rankings(summary):
            lines += [f"## Ranking: {md(rank_heading(keys))}", "", "AUBC per dataset · rank on it.", "",
                      _markdown_ranking(datasets, variants), ""]
    for keys, table, seeds in tables(board):
        name = md(heading(keys))
        lines += [f"## {name}", "", seeds_text(seeds), "", _markdown_table(table, seeds, summary_rows(summary, keys)),
                  "", f"![{name}](plots/{plot_stem(keys)}.svg)", ""]
    for keys in histogram_keys:
        name = md(heading(keys))
        lines += [f"## {name}", "", HISTOGRAM_NOTE, "", f"![{name}](plots/{plot_stem(keys)}.svg)", ""]
    return "\n".join(lines)


def _json_rows(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", double_precision=4))


# --- writing a board directory whole --------------------------------------------------------

_RENAME_EXCHANGE = 2
_HOST = socket.gethostname().replace(".", "_")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2``); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_cwd = -100
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # this system or filesystem cannot
        return False
    raise OSError(code, os.strerror(code), str(b))


def _staging(out: Path, kind: str) -> Path:
    """A new hidden sibling directory of ``out`` named for this process, with the usual mode."""
    path = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{kind}-{_HOST}.{os.getpid()}."))
    path.chmod(0o777 & ~_umask())
    return path


def _leftovers(out: Path) -> None:
    """Clean up after board writes of this host that were killed: remove their new
    boards; put back an old board that a two-step swap had moved aside."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(new|old)-{re.escape(_HOST)}\.(\d+)\.")
    for path in sorted(out.parent.glob(f".{glob.escape(out.name)}.*-*")):
        match = pattern.match(path.name)
        if not match or _alive(int(match.group(2))):
            continue
        if match.group(1) == "old" and not out.exists():
            os.rename(path, out)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _keep_foreign(old: Path, new: Path) -> None:
    """Hard-link (or copy) into ``new`` what ``old`` holds that is not a board's (a README,
    a site's ``index.html``), so the swap keeps it."""
    def link(source, target):
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    for entry in old.iterdir():
        if entry.name in BOARD_FILES or entry.name.endswith(".tmp") or os.path.lexists(new / entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / entry.name, symlinks=True, copy_function=link)
        elif entry.is_symlink():
            os.symlink(os.readlink(entry), new / entry.name)
        else:
            link(entry, new / entry.name)


def _swap_in(new: Path, out: Path, keep_foreign: bool) -> None:
    """Make the complete directory ``new`` the directory ``out``, in one step where possible."""
    if not out.exists():
        os.rename(new, out)
        return
    if keep_foreign:
        _keep_foreign(out, new)
    if _exchange(new, out):
        shutil.rmtree(new)  # now the old board
        return
    old = _staging(out, "old")
    os.rmdir(old)
    os.rename(out, old)
    os.rename(new, out)
    shutil.rmtree(old)


def _write_files(records: list[Record], out: Path, title: str) -> list[Path]:
    board, summary, vectors = aggregate(records), aubc(records), histograms(records)
    plots = write_plots(board, vectors, out / "plots")
    paths = {name: out / name for name in BOARD_FILES[:-1]}
    atomic_write_text(paths["leaderboard.md"], markdown(board, title, histogram_tables(vectors), summary))
    atomic_write_text(paths["leaderboard.csv"], board.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(paths["leaderboard_aubc.csv"], summary.to_csv(index=False, float_format="%.4f"))
    document = {
        "title": title,
        "rows": _json_rows(board),
        "aubc": _json_rows(summary),
        "histograms": vectors,
        "provenance": provenance(records),
    }
    atomic_write_text(paths["leaderboard.json"], json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return [*paths.values(), *plots]


def write_leaderboard(records: list[Record], out: Path, title: str) -> list[Path]:
    """Write a board directory: ``leaderboard.md``, ``leaderboard.csv`` (one row per table ×
    method variant × budget), ``leaderboard_aubc.csv`` (AUBC and ranks per table × method
    variant), ``leaderboard.json`` (rows, AUBC, class histograms, provenance per method
    row) and ``plots/``; built aside and swapped in whole. Returns the paths written."""
    out = Path(out)
    staged = replace_directory(out, lambda staging: (staging, _write_files(records, staging, title)))
    staging, written = staged
    return [out / path.relative_to(staging) for path in written]


def replace_directory(out: Path, fill: Callable[[Path], T], keep_foreign: bool = True) -> T:
    """Make ``out`` a directory filled by ``fill(new directory)`` in one step: ``fill``
    writes into a hidden sibling, which is then swapped in (what ``out`` held that is not a
    board's is kept, unless ``keep_foreign`` is false). Returns what ``fill`` returns."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LbalError(f"cannot write {out}: not a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _leftovers(out)
        staging = _staging(out, "new")
    except OSError as exc:
        raise LbalError(f"cannot write {out}: {exc.strerror}") from None
    try:
        result = fill(staging)
        _swap_in(staging, out, keep_foreign)
    except OSError as exc:
        raise LbalError(f"cannot write {out}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result
