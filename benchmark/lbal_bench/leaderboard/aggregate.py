"""Records → the board: one row per (dataset, backbone, evaluator, metric, method variant,
budget) with mean ± std over seeds, the best method per budget and the paper's number;
the area under the budget curve (AUBC) and ranks per method variant; plus the mean of
vector metrics (class histograms) and where each row came from.

A *method variant* is a method (the sampler's label) with how its selection chain started
(``display["start"]``, e.g. ``from 0`` or ``from 10 random``) and the sampler's and
evaluator's options that differ from the plugins' defaults (``display["options"]``):
rows of one method that started or ran differently are never averaged together.

Records are taken as they come: a record without a usable seed or budget is left off the
board (``record_problems`` says why), a metric that is not a finite number is left out,
and a missing display name falls back to the plugin's name or ``unknown``.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..store import Record
from .reference import PAPER_COLUMNS, compare, paper_methods, paper_reference

TABLE_KEYS = ["dataset", "backbone", "evaluator", "metric"]
VARIANT_KEYS = ["method", "uses_labels", "start", "options"]
ROW_KEYS = ["dataset", "backbone", "evaluator", *VARIANT_KEYS, "budget"]
COLUMNS = [*TABLE_KEYS, *VARIANT_KEYS, "paper_method", "budget", "mean", "std", "seeds", "best", *PAPER_COLUMNS]
AUBC_COLUMNS = [*TABLE_KEYS, *VARIANT_KEYS, "paper_method", "budget_min", "budget_max", "budgets", "aubc",
                "aubc_std", "seeds", "best", "rank", "rank_start", "mean_rank", "datasets_ranked", "datasets"]
RANK_KEYS = ["backbone", "evaluator", "metric"]  # a ranking across datasets per these
RANK_VARIANT = ["method", "uses_labels", "rank_start", "options"]  # a row of a ranking
START_SIZE = re.compile(r"^from (?!0$)(?!0 )\S+ ")  # "from 10 random" → "from n random"; "from 0" stays
LABEL_MARK = "†"
UNKNOWN = "unknown"  # a display field a record does not carry (written before it existed)
DEFAULT_OPTIONS = "default"
KIND_ORDER = {"sampler": 0, "evaluator": 1}
OPTION_SEPARATOR = " · "


def heading(keys: tuple) -> str:
    """A table's name: ``dataset · backbone · evaluator [metric]`` (metric only when it differs)."""
    dataset, backbone, evaluator, metric = keys
    return " · ".join([dataset, backbone, evaluator if metric == evaluator else f"{evaluator} {metric}"])


def rank_heading(keys: tuple) -> str:
    """A ranking's name: ``backbone · evaluator [metric]``."""
    backbone, evaluator, metric = keys
    return " · ".join([backbone, evaluator if metric == evaluator else f"{evaluator} {metric}"])


def method_label(method: str, uses_labels: bool) -> str:
    """A method's name, with the mark of methods that read labels."""
    return f"{method} {LABEL_MARK}" if uses_labels else method


def seeds_text(seeds: int) -> str:
    """``3 seeds per cell`` (``1 seed per cell``)."""
    return f"{seeds} seed{'' if seeds == 1 else 's'} per cell."


# --- reading records --------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """``value`` as a finite float when it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (not a bool), else None."""
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _display(record: Record) -> dict:
    return record.display if isinstance(record.display, dict) else {}


def _name(record: Record, kind: str) -> str:
    """The display name of a plugin of a record, else its plugin name, else ``unknown``."""
    value = _display(record).get(kind)
    if isinstance(value, str) and value.strip():
        return value
    plugin = record.config.get(kind) if isinstance(record.config, dict) else None
    name = plugin.get("name") if isinstance(plugin, dict) else None
    return name if isinstance(name, str) and name.strip() else UNKNOWN


def _plugin(record: Record) -> str:
    """The sampler plugin's own name (a suite label may rename it on the board)."""
    plugin = record.config.get("sampler") if isinstance(record.config, dict) else None
    name = plugin.get("name") if isinstance(plugin, dict) else None
    return name if isinstance(name, str) else _name(record, "sampler")


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def options_text(options: Any) -> str:
    """``sampler: init=random, nredo=5 · evaluator: normalise=l2`` from a record's
    ``display["options"]``; ``default`` when nothing differs, ``unknown`` when not recorded."""
    if options is None:
        return UNKNOWN
    if not isinstance(options, dict):
        return _value_text(options)
    parts = []
    for kind in sorted(options, key=lambda k: (KIND_ORDER.get(k, len(KIND_ORDER)), str(k))):
        chosen = options[kind]
        if isinstance(chosen, dict):
            if chosen:
                parts.append(f"{kind}: " + ", ".join(f"{k}={_value_text(v)}" for k, v in sorted(chosen.items(),
                                                                                                key=lambda i: str(i[0]))))
        elif chosen not in (None, ""):
            parts.append(f"{kind}: {_value_text(chosen)}")
    return OPTION_SEPARATOR.join(parts) or DEFAULT_OPTIONS


def selection_key(variant: tuple) -> tuple:
    """What identifies a variant's selections: the variant without its evaluator options."""
    method, uses_labels, start, options = variant
    if options not in (UNKNOWN, DEFAULT_OPTIONS):
        options = OPTION_SEPARATOR.join(p for p in options.split(OPTION_SEPARATOR)
                                        if not p.startswith("evaluator: ")) or DEFAULT_OPTIONS
    return method, bool(uses_labels), start, options


def _start(record: Record) -> str:
    start = _display(record).get("start")
    return start if isinstance(start, str) and start.strip() else UNKNOWN


def _place(record: Record) -> tuple[dict | None, str | None]:
    """``(row keys, None)`` of a record on the board, or ``(None, why it has no place)``."""
    config = record.config if isinstance(record.config, dict) else {}
    budget, seed = _integer(config.get("budget")), _integer(config.get("seed"))
    if budget is None or budget <= 0:
        return None, f"budget {json.dumps(config.get('budget'), default=str)} is not a positive whole number"
    if seed is None:
        return None, f"seed {json.dumps(config.get('seed'), default=str)} is not a whole number"
    return {
        "dataset": _name(record, "dataset"),
        "backbone": _name(record, "backbone"),
        "evaluator": _name(record, "evaluator"),
        "method": _name(record, "sampler"),
        "uses_labels": record.uses_labels is True,
        "start": _start(record),
        "options": options_text(_display(record).get("options")),
        "budget": budget,
        "seed": seed,
    }, None


def scalar_metrics(record: Record) -> list[tuple[str, float]]:
    """The record's metrics that are finite numbers, in order (the first is the headline)."""
    metrics = record.metrics if isinstance(record.metrics, dict) else {}
    return [(str(m), v) for m, raw in metrics.items() if (v := _number(raw)) is not None]


def vector_metrics(record: Record) -> list[tuple[str, list[float]]]:
    """The record's metrics that are non-empty lists of finite numbers (class histograms)."""
    metrics = record.metrics if isinstance(record.metrics, dict) else {}
    found = []
    for metric, raw in metrics.items():
        if isinstance(raw, list) and raw:
            values = [_number(v) for v in raw]
            if None not in values:
                found.append((str(metric), values))
    return found


def record_problems(records: list[Record]) -> list[str]:
    """One line per record, or metric of a record, that the board leaves out, and why."""
    problems = []
    for record in records:
        _, why = _place(record)
        if why:
            problems.append(f"record {record.fingerprint}: {why}; left off the board")
            continue
        usable = {m for m, _ in scalar_metrics(record)} | {m for m, _ in vector_metrics(record)}
        metrics = record.metrics if isinstance(record.metrics, dict) else {}
        for metric, value in metrics.items():
            if str(metric) not in usable:
                problems.append(f"record {record.fingerprint}: metric '{metric}' is not a finite number or a list of "
                                f"them ({json.dumps(value, default=str)[:40]}); left off the board")
        if not usable:
            problems.append(f"record {record.fingerprint}: no numeric metric; left off the board")
    return problems


def records_frame(records: list[Record], paper: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One row per (record, scalar metric); ``headline`` marks each record's first scalar
    metric, ``paper_method`` a sampler plugin that the paper's tables name (``paper``)."""
    rows = []
    for record in records:
        place, _ = _place(record)
        if place is None:
            continue
        for position, (metric, value) in enumerate(scalar_metrics(record)):
            rows.append({**place, "metric": metric, "value": value, "headline": position == 0,
                         "paper_method": _plugin(record) in paper})
    return pd.DataFrame(rows, columns=[*ROW_KEYS, "seed", "metric", "value", "headline", "paper_method"])


# --- the board ----------------------------------------------------------------------------


def _top(values: pd.Series, readers: pd.Series, groups: list[pd.Series]) -> pd.Series:
    """Rows whose value (as displayed, one decimal) is the highest of their group among
    the rows that do not read labels."""
    shown = values.round(1).where(~readers.astype(bool))
    return shown == shown.groupby(groups).transform("max")


def aggregate(records: list[Record], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """The board: mean and population std (ddof=0; none for a single seed) over seeds, the
    best non-label-using method per budget, and the paper's value (``reference``, default
    the shipped tables)."""
    reference = paper_reference() if reference is None else reference
    frame = records_frame(records, paper_methods(reference))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    table = (
        frame.groupby([*TABLE_KEYS, *VARIANT_KEYS, "budget"], sort=True)
        .agg(mean=("value", "mean"), std=("value", lambda v: float(v.std(ddof=0)) if len(v) > 1 else np.nan),
             seeds=("value", "count"), headline=("headline", "any"), paper_method=("paper_method", "any"))
        .reset_index()
    )
    best = _top(table["mean"], table["uses_labels"], [table[k] for k in [*TABLE_KEYS, "budget"]])
    table = table.assign(best=best, headline=table["headline"].astype(bool))
    return compare(table, reference)[COLUMNS]


def tables(board: pd.DataFrame) -> Iterator[tuple[tuple, pd.DataFrame, int]]:
    """``(keys, rows, seeds)`` per table of the board, in display order; ``seeds`` is the
    most seeds any cell of the table has."""
    for keys, table in board.groupby(TABLE_KEYS, sort=True):
        yield keys, table, int(table["seeds"].max())


def method_rows(table: pd.DataFrame) -> Iterator[tuple[tuple, dict[int, pd.Series]]]:
    """``(variant, {budget: board row})`` per method variant of one table, by name;
    ``variant`` is (method, uses_labels, start, options)."""
    for (method, uses_labels, start, options), rows in table.groupby(VARIANT_KEYS, sort=True):
        yield (method, bool(uses_labels), start, options), {int(row["budget"]): row for _, row in rows.iterrows()}


def variant_labels(variants: list[tuple]) -> dict[tuple, str]:
    """A name per method variant for legends: the method (with †), followed by its start
    and options where other variants of the same method differ in them."""
    labels = {}
    for variant in variants:
        method, uses_labels, start, options = variant
        siblings = [v for v in variants if v[0] == method]
        parts = [text for i, text in ((2, start), (3, options)) if len({v[i] for v in siblings}) > 1]
        labels[variant] = method_label(method, uses_labels) + (f" ({'; '.join(parts)})" if parts else "")
    return labels


def shows_options(table: pd.DataFrame) -> bool:
    """Whether any row of a table ran with options other than the defaults (or unknown ones)."""
    return bool((table["options"] != DEFAULT_OPTIONS).any())


# --- area under the budget curve and ranks ------------------------------------------------


def aubc_value(budgets: list[int], values: list[float]) -> float:
    """The area under ``values`` against ln(budget), trapezoid rule, divided by
    ln(largest budget) − ln(smallest): the curve's mean over the log-budget axis, in the
    values' unit (percent). One budget: its value."""
    x, y = np.log(np.asarray(budgets, dtype=float)), np.asarray(values, dtype=float)
    if len(x) == 1:
        return float(y[0])
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def aubc(records: list[Record], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per table × method variant: the AUBC of the mean curve over the table's
    budgets (none where the variant lacks one of them), its population std over the seeds
    that have every budget, the best non-label-using variant per table, the rank among
    those (1 = best, by AUBC as displayed; ties share the mean rank) and, per backbone ×
    evaluator × metric, the mean rank over the datasets where the variant is ranked."""
    reference = paper_reference() if reference is None else reference
    frame = records_frame(records, paper_methods(reference))
    if frame.empty:
        return pd.DataFrame(columns=AUBC_COLUMNS)
    rows = []
    for keys, table in frame.groupby(TABLE_KEYS, sort=True):
        budgets = sorted(table["budget"].unique().tolist())
        for variant, runs in table.groupby(VARIANT_KEYS, sort=True):
            curve = runs.groupby("budget")["value"].mean()
            value = aubc_value(budgets, curve[budgets].tolist()) if set(budgets) <= set(curve.index) else np.nan
            by_seed = runs.pivot_table(index="seed", columns="budget", values="value", aggfunc="mean")
            complete = by_seed.reindex(columns=budgets).dropna()
            per_seed = [aubc_value(budgets, list(v)) for v in complete.to_numpy()] if pd.notna(value) else []
            rows.append({
                **dict(zip(TABLE_KEYS, keys)), **dict(zip(VARIANT_KEYS, variant)),
                "paper_method": bool(runs["paper_method"].any()),
                "budget_min": budgets[0], "budget_max": budgets[-1], "budgets": len(budgets),
                "aubc": value, "aubc_std": float(np.std(per_seed)) if len(per_seed) > 1 else np.nan,
                "seeds": len(per_seed),
            })
    result = pd.DataFrame(rows)
    readers = result["uses_labels"].astype(bool)
    tables_of = [result[k] for k in TABLE_KEYS]
    result["best"] = _top(result["aubc"], readers, tables_of) & result["aubc"].notna()
    result["rank"] = result["aubc"].round(1).where(~readers).groupby(tables_of).rank(ascending=False, method="average")
    result["rank_start"] = _rank_starts(result)
    ranking = result.groupby([*RANK_KEYS, *RANK_VARIANT])["rank"]
    result["mean_rank"] = ranking.transform("mean")
    result["datasets_ranked"] = ranking.transform("count").astype(int)
    result["datasets"] = result.groupby(RANK_KEYS)["dataset"].transform("nunique").astype(int)
    return result[AUBC_COLUMNS]


def _rank_starts(summary: pd.DataFrame) -> pd.Series:
    """The start by which a row meets its rows on other datasets in a ranking: its size left
    out (``from n random``), since an initial pool given as a percentage or as the smallest
    budget has another size on each dataset; the full start where that would put two rows
    of one dataset together."""
    kind = summary["start"].map(lambda start: START_SIZE.sub("from n ", start))
    group = [summary[k] for k in [*RANK_KEYS, "method", "uses_labels", "options"]] + [kind]
    clash = summary.groupby([*group, summary["dataset"]])["start"].transform("nunique").groupby(group).transform("max")
    return kind.where(clash <= 1, summary["start"])


def rankings(summary: pd.DataFrame) -> Iterator[tuple[tuple, list[str], list[tuple[tuple, dict[str, pd.Series]]]]]:
    """``(keys, datasets, [(variant, {dataset: aubc row})])`` per backbone × evaluator ×
    metric: variants ranked on every dataset by mean rank, then those ranked on fewer,
    then unranked ones (label readers), each by name. A variant's start lists its starts
    on the datasets (``from 10 random, from 100 random``)."""
    for keys, group in summary.groupby(RANK_KEYS, sort=True):
        datasets = sorted(group["dataset"].unique().tolist())
        variants = []
        for variant, rows in group.groupby(RANK_VARIANT, sort=True):
            starts = ", ".join(sorted(rows["start"].unique(), key=lambda s: (len(s), s)))
            variant = (variant[0], bool(variant[1]), starts, variant[3])
            variants.append((variant, {row["dataset"]: row for _, row in rows.iterrows()}))
        def order(item: tuple) -> tuple:
            row = next(iter(item[1].values()))
            rank = row["mean_rank"]
            return (pd.isna(rank), int(row["datasets_ranked"]) < int(row["datasets"]),
                    0.0 if pd.isna(rank) else float(rank), *map(str, item[0]))

        variants.sort(key=order)
        yield keys, datasets, variants


# --- vector metrics and provenance --------------------------------------------------------


def histograms(records: list[Record], reference: pd.DataFrame | None = None) -> list[dict]:
    """The mean over seeds of every vector metric (such as a class histogram: how many
    classes have 0, 1, 2, … labels), one entry per (row keys, metric)."""
    paper = paper_methods(paper_reference() if reference is None else reference)
    groups: dict[tuple, list[list[float]]] = {}
    plugins: dict[tuple, bool] = {}
    for record in records:
        place, _ = _place(record)
        if place is None:
            continue
        for metric, value in vector_metrics(record):
            key = (*(place[k] for k in ROW_KEYS), metric)
            groups.setdefault(key, []).append(value)
            plugins[key] = plugins.get(key, False) or _plugin(record) in paper
    entries = []
    for key in sorted(groups, key=lambda k: tuple(map(str, k))):
        vectors = groups[key]
        width = max(map(len, vectors))
        mean = np.mean([np.pad(np.asarray(v, dtype=float), (0, width - len(v))) for v in vectors], axis=0)
        entries.append({**dict(zip([*ROW_KEYS, "metric"], key)), "paper_method": plugins[key],
                        "seeds": len(vectors), "mean": [round(float(x), 4) for x in mean]})
    return entries


def histogram_tables(entries: list[dict]) -> dict[tuple, list[dict]]:
    """``histograms`` entries grouped by table keys (dataset, backbone, evaluator, metric), sorted."""
    groups: dict[tuple, list[dict]] = {}
    for entry in entries:
        groups.setdefault(tuple(entry[k] for k in TABLE_KEYS), []).append(entry)
    return dict(sorted(groups.items()))


PROVENANCE_KEYS = ["dataset", "backbone", "evaluator", "method", "start", "options"]


def provenance(records: list[Record]) -> list[dict]:
    """Where each method variant row of each table came from: lbal-bench and plugin
    versions, git revisions, machines and the dates of its records."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        place, _ = _place(record)
        if place is not None:
            found = record.provenance if isinstance(record.provenance, dict) else {}
            groups.setdefault(tuple(place[k] for k in PROVENANCE_KEYS), []).append(found)

    def strings(values) -> list[str]:
        return sorted({str(v) for v in values})

    entries = []
    for key in sorted(groups):
        found = groups[key]
        created = sorted(str(p.get("created", "")) for p in found)
        plugins = [(kind, p) for f in found if isinstance(f.get("plugins"), dict)
                   for kind, p in f["plugins"].items() if isinstance(p, dict)]
        machines = [m if isinstance(m := f.get("machine"), dict) else {} for f in found]
        entries.append({
            **dict(zip(PROVENANCE_KEYS, key)),
            "records": len(found),
            "lbal_bench": strings((f.get("packages") or {}).get("lbal-bench", UNKNOWN)
                                  if isinstance(f.get("packages") or {}, dict) else UNKNOWN for f in found),
            "plugins": strings(f"{kind} {p.get('name', '?')}: {p.get('distribution', '?')} {p.get('version', '?')}"
                               for kind, p in plugins),
            "git_revision": strings(f.get("git_revision") or UNKNOWN for f in found),
            "machines": strings(f"{m.get('node', '?')} ({m.get('platform', '?')})" for m in machines),
            "created": [created[0], created[-1]],
        })
    return entries
