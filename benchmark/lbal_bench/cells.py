"""Expanding a suite into cells, and the fingerprints that name them.

A cell is one (dataset, backbone, sampler, seed, budget, evaluator) point of the grid.
Its fingerprint hashes everything that changes its numbers (plugin names and options,
the data's and the weights' fingerprints, seed, absolute budget) and nothing else, so
the same cell in two suites is the same record.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LbalError
from .evaluation import image_problem
from .features import declared, input_problem
from .guard import plain_data
from .plugin_handle import Plugin, build, fingerprint, plugin_call
from .registry import Registry, did_you_mean
from .schedule import Selection, Start, dataset_budgets, resolve_budget, selections, starts
from .suite import PERCENT, PluginSpec, Suite

KEYS = ("dataset", "backbone", "sampler", "evaluator", "seed", "budget")


@dataclass(frozen=True)
class Grid:
    """A suite with every plugin built, ready to expand.

    ``starts`` maps each iterative sampler's label to where its chains start.
    """

    suite: Suite
    datasets: list[Plugin]
    backbones: list[Plugin]
    samplers: list[Plugin]
    evaluators: list[Plugin]
    starts: dict[str, Start]


def build_grid(suite: Suite, registry: Registry) -> Grid:
    """Build every plugin a suite names; unknown names and bad options raise ``LbalError``,
    and so does a backbone that cannot embed what a dataset holds (``features.input_problem``:
    by the plugins' declared ``accepts`` and ``provides``), naming the backbone's line."""

    def built(kind: str, spec: PluginSpec, where: tuple) -> Plugin:
        try:
            return build(registry, kind, spec)
        except LbalError as exc:
            raise LbalError(f"{suite.where(*where)}: {exc}") from None

    def build_all(kind: str, specs: list[PluginSpec]) -> list[Plugin]:
        return [built(kind, spec, (f"{kind}s", i)) for i, spec in enumerate(specs)]

    samplers = build_all("sampler", suite.samplers)
    datasets = build_all("dataset", suite.datasets)
    backbones = build_all("backbone", suite.backbones)
    evaluators = build_all("evaluator", suite.evaluators)
    # by the datasets' and backbones' declarations only: nothing is loaded yet
    for kind, plugins in (("dataset", datasets), ("backbone", backbones)):
        for i, plugin in enumerate(plugins):
            try:
                declared(plugin, "provides" if kind == "dataset" else "accepts")
            except LbalError as exc:
                raise LbalError(f"{suite.where(f'{kind}s', i)}: {exc}") from None
    for b, backbone in enumerate(backbones):
        for dataset in datasets:
            problem = input_problem(dataset, backbone, registry)
            if problem:
                raise LbalError(f"{suite.where('backbones', b)}: {problem}")
    return Grid(suite, datasets, backbones, samplers, evaluators, starts(suite, samplers, built, registry))


@dataclass(frozen=True)
class Cell:
    """One point of the grid: a selection at one budget, measured by one evaluator."""

    dataset: Plugin
    backbone: Plugin
    sampler: Plugin
    evaluator: Plugin
    seed: int
    data_fingerprint: str
    weights_fingerprint: str
    selection: Selection

    @property
    def budget(self) -> int:
        """The number of labeled points the cell is evaluated with."""
        return self.selection.budget

    def selection_key(self, selection: Selection | None = None) -> str:
        """Fingerprint of the selected set (this cell's, or one ``selection`` of its chain)."""
        return fingerprint({**self._source(), **(selection or self.selection).config()})

    def _source(self) -> dict:
        return {
            "dataset": {**self.dataset.config(), "fingerprint": self.data_fingerprint},
            "backbone": {**self.backbone.config(), "fingerprint": self.weights_fingerprint},
            "seed": self.seed,
        }

    def config(self) -> dict:
        """Everything that determines the cell's metrics."""
        return {
            **self._source(),
            "sampler": self.sampler.config(),
            "budget": self.budget,
            "selection": self.selection.config(),
            "evaluator": self.evaluator.config(),
        }

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.config())

    def display(self) -> dict:
        """What the leaderboard shows: names (labels from the suite), how the selection
        chain started (``from 0``, ``from 10 random``) and the options that differ from
        the sampler's and the evaluator's defaults."""
        return {
            "dataset": self.dataset.spec.display,
            "backbone": self.backbone.spec.display,
            "sampler": self.sampler.spec.display,
            "evaluator": self.evaluator.spec.display,
            "start": self.selection.start(self.sampler),
            "options": {"sampler": self.sampler.changed_options(), "evaluator": self.evaluator.changed_options()},
        }

    def matches(self, key: str, value: str) -> bool:
        """Whether this cell has ``value`` for ``key`` (used by ``--only``); a budget given
        as a percentage is resolved against this cell's pool, as in the suite."""
        if key == "budget" and PERCENT.match(value.strip()):
            return resolve_budget(value.strip(), len(self.dataset.obj.split("train"))) == self.budget
        if key in ("seed", "budget"):
            return str(getattr(self, key)) == value
        plugin: Plugin = getattr(self, key)
        return value in (plugin.spec.name, plugin.spec.display)


def expand(grid: Grid) -> list[Cell]:
    """Every cell of ``grid``; budgets come from :mod:`lbal_bench.schedule`."""
    cells = []
    iterative = next(iter(grid.starts), None)
    for d, dataset in enumerate(grid.datasets):
        try:
            data_fp = fingerprint(plain_data(dataset, "fingerprint", plugin_call(dataset, "fingerprint", dataset.obj.fingerprint)))
            pool_size = plugin_call(dataset, "split", lambda: len(dataset.obj.split("train")))
        except LbalError as exc:
            raise LbalError(f"{grid.suite.where('datasets', d)}: {exc}") from None
        budgets = dataset_budgets(grid.suite, d, dataset.spec.display, pool_size, iterative)
        for b, backbone in enumerate(grid.backbones):
            try:
                weights_fp = fingerprint(plain_data(backbone, "fingerprint", plugin_call(backbone, "fingerprint", backbone.obj.fingerprint)))
            except LbalError as exc:
                raise LbalError(f"{grid.suite.where('backbones', b)}: {exc}") from None
            for e, evaluator in enumerate(grid.evaluators):
                problem = plugin_call(dataset, "split", lambda: image_problem(evaluator, dataset, backbone))
                if problem:
                    raise LbalError(f"{grid.suite.where('evaluators', e)}: {problem}")
            for i, sampler in enumerate(grid.samplers):
                chain = selections(sampler, grid.starts.get(sampler.spec.display), budgets, pool_size,
                                   grid.suite.where("samplers", i))
                for seed in grid.suite.seeds:
                    for selection in chain:
                        for evaluator in grid.evaluators:
                            cells.append(Cell(dataset, backbone, sampler, evaluator, seed,
                                              data_fp, weights_fp, selection))
    return cells


def select_cells(cells: list[Cell], only: list[str]) -> list[Cell]:
    """Keep the cells matching every ``KEY=VALUE`` filter (values of one key are OR-ed)."""
    wanted: dict[str, set[str]] = {}
    for item in only:
        key, sep, value = item.partition("=")
        if not sep or key not in KEYS:
            raise LbalError(f"--only '{item}': expected KEY=VALUE with KEY one of {', '.join(KEYS)}")
        wanted.setdefault(key, set()).add(value)
    for key, values in wanted.items():
        for value in sorted(values):
            if not any(c.matches(key, value) for c in cells):
                raise LbalError(f"--only {key}={value}: no cell has {key} '{value}'{_hint(cells, key, value)}")
    return [c for c in cells if all(any(c.matches(k, v) for v in vs) for k, vs in wanted.items())]


def _hint(cells: list[Cell], key: str, value: str) -> str:
    """`` (did you mean 'x'?)``, else the values the suite has for ``key``."""
    if key in ("seed", "budget"):
        have = sorted({getattr(c, key) for c in cells})
        return f" ({key}s: {', '.join(map(str, have))})"
    have = sorted({name for c in cells for name in (getattr(c, key).spec.name, getattr(c, key).spec.display)})
    return did_you_mean(value, have) or f" ({key}s: {', '.join(have)})"
