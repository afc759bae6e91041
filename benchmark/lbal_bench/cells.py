"""Expanding a suite into cells, and the fingerprints that name them.

A cell is one (dataset, backbone, sampler, seed, budget, evaluator) point of the grid.
Its fingerprint hashes everything that changes its numbers (plugin names and options,
the data's and the weights' fingerprints, seed, absolute budget) and nothing else, so
the same cell in two suites is the same record.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass
from typing import Any

from .errors import LbalError
from .registry import PluginInfo, Registry
from .suite import PluginSpec, Suite, resolve_budget

KEYS = ("dataset", "backbone", "sampler", "evaluator", "seed", "budget")


def fingerprint(config: dict) -> str:
    """A short stable hash of a JSON-able config."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _defaults(factory: Any) -> dict:
    """The keyword defaults of a plugin factory (empty when it has no inspectable signature)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


@dataclass(frozen=True)
class Plugin:
    """A plugin of a suite, built: its spec, registry entry and instance."""

    spec: PluginSpec
    info: PluginInfo
    obj: Any

    def config(self) -> dict:
        """The plugin's part of a cell config: its name and every option, defaults included,
        so that changing a plugin's default changes the fingerprint."""
        return {"name": self.spec.name, "options": {**_defaults(self.info.factory), **self.spec.options}}


@dataclass(frozen=True)
class Grid:
    """A suite with every plugin built, ready to expand."""

    suite: Suite
    datasets: list[Plugin]
    backbones: list[Plugin]
    samplers: list[Plugin]
    evaluators: list[Plugin]


def build_grid(suite: Suite, registry: Registry) -> Grid:
    """Build every plugin a suite names; unknown names and bad options raise ``LbalError``."""

    def build(kind: str, specs: list[PluginSpec]) -> list[Plugin]:
        plugins = []
        for i, spec in enumerate(specs):
            try:
                plugins.append(Plugin(spec, registry.get(kind, spec.name), registry.create(kind, spec.name, spec.options)))
            except LbalError as exc:
                raise LbalError(f"{suite.where(kind + 's', i)}: {exc}") from None
        return plugins

    return Grid(
        suite,
        build("dataset", suite.datasets),
        build("backbone", suite.backbones),
        build("sampler", suite.samplers),
        build("evaluator", suite.evaluators),
    )


@dataclass(frozen=True)
class Cell:
    """One point of the grid."""

    dataset: Plugin
    backbone: Plugin
    sampler: Plugin
    evaluator: Plugin
    seed: int
    budget: int
    data_fingerprint: str
    weights_fingerprint: str

    def selection_config(self) -> dict:
        """Everything that determines the selected indices."""
        return {
            "dataset": {**self.dataset.config(), "fingerprint": self.data_fingerprint},
            "backbone": {**self.backbone.config(), "fingerprint": self.weights_fingerprint},
            "sampler": self.sampler.config(),
            "seed": self.seed,
            "budget": self.budget,
        }

    def config(self) -> dict:
        """Everything that determines the cell's metrics."""
        return {**self.selection_config(), "evaluator": self.evaluator.config()}

    @property
    def selection_key(self) -> str:
        return fingerprint(self.selection_config())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.config())

    def display(self) -> dict:
        """Names shown on the leaderboard (labels from the suite)."""
        return {
            "dataset": self.dataset.spec.display,
            "backbone": self.backbone.spec.display,
            "sampler": self.sampler.spec.display,
            "evaluator": self.evaluator.spec.display,
        }

    def matches(self, key: str, value: str) -> bool:
        """Whether this cell has ``value`` for ``key`` (used by ``--only``)."""
        if key in ("seed", "budget"):
            return str(getattr(self, key)) == value
        plugin: Plugin = getattr(self, key)
        return value in (plugin.spec.name, plugin.spec.display)


def expand(grid: Grid) -> list[Cell]:
    """Every cell of ``grid``; percentage budgets are resolved against each pool."""
    cells = []
    for dataset in grid.datasets:
        data_fp = fingerprint(dataset.obj.fingerprint())
        pool_size = len(dataset.obj.split("train"))
        budgets = []
        for i, budget in enumerate(grid.suite.budgets):
            count = resolve_budget(budget, pool_size)
            if count > pool_size:
                raise LbalError(
                    f"{grid.suite.where('budgets', i)}: budget {budget} exceeds the pool of dataset "
                    f"'{dataset.spec.display}' ({pool_size} points)"
                )
            budgets.append(count)
        for backbone in grid.backbones:
            weights_fp = fingerprint(backbone.obj.fingerprint())
            for sampler in grid.samplers:
                for seed in grid.suite.seeds:
                    for budget in sorted(budgets):
                        for evaluator in grid.evaluators:
                            cells.append(
                                Cell(dataset, backbone, sampler, evaluator, seed, budget, data_fp, weights_fp)
                            )
    return cells


def select_cells(cells: list[Cell], only: list[str]) -> list[Cell]:
    """Keep the cells matching every ``KEY=VALUE`` filter (values of one key are OR-ed)."""
    wanted: dict[str, set[str]] = {}
    for item in only:
        key, sep, value = item.partition("=")
        if not sep or key not in KEYS:
            raise LbalError(f"--only '{item}': expected KEY=VALUE with KEY one of {', '.join(KEYS)}")
        wanted.setdefault(key, set()).add(value)
    return [c for c in cells if all(any(c.matches(k, v) for v in vs) for k, vs in wanted.items())]
