"""Expanding a suite into cells, and the fingerprints that name them.

A cell is one (dataset, backbone, sampler, seed, budget, evaluator) point of the grid.
Its fingerprint hashes everything that changes its numbers (plugin names and options,
the data's and the weights' fingerprints, seed, absolute budget) and nothing else, so
the same cell in two suites is the same record.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from .errors import LbalError
from .imagetask import image_problem
from .registry import PluginInfo, Registry
from .suite import Budget, PluginSpec, Suite, resolve_budget

DEFAULT_INITIAL_SAMPLER = "random"

KEYS = ("dataset", "backbone", "sampler", "evaluator", "seed", "budget")

T = TypeVar("T")


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
        so that changing a plugin's default changes the fingerprint; options the factory
        lists in ``runtime_options`` stay out: those that change no number (DataLoader
        workers) and those that only say where data is (a dataset's ``root``, a backbone's
        ``weights`` file) when the plugin's own fingerprint identifies it by content."""
        runtime = set(getattr(self.info.factory, "runtime_options", ()))
        options = {**_defaults(self.info.factory), **self.spec.options}
        return {"name": self.spec.name, "options": {k: v for k, v in options.items() if k not in runtime}}

    def __reduce__(self):
        """Pickled as its kind and spec: another process (an executor's worker) rebuilds it
        from its own registry, once per process, so no plugin state or data is shipped."""
        return _registered_plugin, (self.info.kind, type(self.spec), self.spec.model_dump_json())


def _registered_plugin(kind: str, spec_type: type[PluginSpec], spec_json: str) -> Plugin:
    """The plugin a pickled ``Plugin`` stood for, built from this process's registry."""
    from .plugins import get_registry

    return _build_once(get_registry(), kind, spec_type, spec_json)


def _build(registry: Registry, kind: str, spec: PluginSpec) -> Plugin:
    """The plugin ``spec`` names, built from ``registry`` (errors name it)."""
    return Plugin(spec, registry.get(kind, spec.name), registry.create(kind, spec.name, spec.options))


@functools.lru_cache(maxsize=None)
def _build_once(registry: Registry, kind: str, spec_type: type[PluginSpec], spec_json: str) -> Plugin:
    return _build(registry, kind, spec_type.model_validate_json(spec_json))


def build_plugin(registry: Registry, kind: str, name: str, options: dict) -> Plugin:
    """Plugin ``name`` of ``kind`` built with ``options`` outside a suite (errors name it)."""
    return _build(registry, kind, PluginSpec(name=name, options=options))


def plugin_call(plugin: Plugin, what: str, call: Callable[[], T]) -> T:
    """Run ``call``; any failure becomes an ``LbalError`` naming the plugin."""
    try:
        return call()
    except LbalError:
        raise
    except Exception as exc:
        raise LbalError(
            f"{plugin.info.kind} '{plugin.spec.name}' ({plugin.info.distribution}) failed in {what}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


@dataclass(frozen=True)
class Grid:
    """A suite with every plugin built, ready to expand.

    ``initial_pools`` maps an iterative sampler's label to the single-batch sampler and
    size (as written in the suite; ``None`` = the smallest budget) of its starting pool.
    """

    suite: Suite
    datasets: list[Plugin]
    backbones: list[Plugin]
    samplers: list[Plugin]
    evaluators: list[Plugin]
    initial_pools: dict[str, tuple[Plugin, Budget | None]]


def build_grid(suite: Suite, registry: Registry) -> Grid:
    """Build every plugin a suite names; unknown names and bad options raise ``LbalError``."""

    def build(kind: str, spec: PluginSpec, *where: str | int) -> Plugin:
        try:
            return _build(registry, kind, spec)
        except LbalError as exc:
            raise LbalError(f"{suite.where(*where)}: {exc}") from None

    def build_all(kind: str, specs: list[PluginSpec]) -> list[Plugin]:
        return [build(kind, spec, f"{kind}s", i) for i, spec in enumerate(specs)]

    samplers = build_all("sampler", suite.samplers)
    initial_pools = {}
    for i, (spec, sampler) in enumerate(zip(suite.samplers, samplers)):
        iterative = bool(getattr(sampler.obj, "iterative", False))
        where = ("samplers", i, "initial_pool")
        if spec.initial_pool and not iterative:
            raise LbalError(
                f"{suite.where(*where)}: sampler '{spec.name}' is not iterative (it selects from "
                "scratch at every budget), so it takes no initial_pool"
            )
        if not iterative:
            continue
        first = spec.initial_pool.sampler if spec.initial_pool else PluginSpec(name=DEFAULT_INITIAL_SAMPLER)
        initial = build("sampler", first, *where)
        if getattr(initial.obj, "iterative", False):
            raise LbalError(
                f"{suite.where(*where)}: the initial pool of '{spec.display}' needs a single-batch "
                f"sampler, and '{first.name}' is iterative"
            )
        initial_pools[spec.display] = (initial, spec.initial_pool.size if spec.initial_pool else None)

    return Grid(
        suite,
        build_all("dataset", suite.datasets),
        build_all("backbone", suite.backbones),
        samplers,
        build_all("evaluator", suite.evaluators),
        initial_pools,
    )


@dataclass(frozen=True)
class Selection:
    """What determines a selected set: ``sampler`` picking up to ``budget`` points on
    top of ``previous`` (an iterative step), or from scratch (``previous`` is None)."""

    sampler: Plugin
    budget: int
    previous: "Selection | None" = None

    def config(self) -> dict:
        return {
            "sampler": self.sampler.config(),
            "budget": self.budget,
            "after": self.previous.config() if self.previous else None,
        }


@dataclass(frozen=True)
class Cell:
    """One point of the grid: a selection at one budget, measured by one evaluator."""

    dataset: Plugin
    backbone: Plugin
    sampler: Plugin
    evaluator: Plugin
    seed: int
    budget: int
    data_fingerprint: str
    weights_fingerprint: str
    selection: Selection

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


def _schedules(grid: Grid, sampler: Plugin, budgets: list[int], pool_size: int, where: str) -> list[Selection]:
    """The selection at every budget: from scratch, or a chain of iterative steps."""
    if sampler.spec.display not in grid.initial_pools:
        return [Selection(sampler, b) for b in budgets]
    initial, size = grid.initial_pools[sampler.spec.display]
    start = Selection(initial, budgets[0] if size is None else resolve_budget(size, pool_size))
    if start.budget > budgets[0]:
        raise LbalError(
            f"{where}: the initial pool of '{sampler.spec.display}' ({start.budget} points) is larger "
            f"than the smallest budget {budgets[0]}"
        )
    chain, previous = [], start
    for budget in budgets:
        previous = previous if budget == previous.budget else Selection(sampler, budget, previous)
        chain.append(previous)
    return chain


def _check_increasing(grid: Grid, budgets: list[int], written: list[Budget], path: tuple) -> None:
    """Iterative samplers add each budget to the one before: the budgets (as counts) must
    increase in the order written (``written``, at ``path`` in the suite)."""
    if not grid.initial_pools:
        return
    for i in range(1, len(budgets)):
        if budgets[i] <= budgets[i - 1]:
            raise LbalError(
                f"{grid.suite.where(*path, i)}: budgets must increase for the iterative sampler "
                f"'{next(iter(grid.initial_pools))}' (each step adds to the one before), but {written[i]!r} "
                f"({budgets[i]} points) follows {written[i - 1]!r} ({budgets[i - 1]} points)"
            )


def expand(grid: Grid) -> list[Cell]:
    """Every cell of ``grid``; percentage budgets are resolved against each pool."""
    cells = []
    for d, dataset in enumerate(grid.datasets):
        try:
            data_fp = fingerprint(plugin_call(dataset, "fingerprint", dataset.obj.fingerprint))
            pool_size = plugin_call(dataset, "split", lambda: len(dataset.obj.split("train")))
        except LbalError as exc:
            raise LbalError(f"{grid.suite.where('datasets', d)}: {exc}") from None
        written, path = grid.suite.budgets_of(d)
        budgets = []
        for i, budget in enumerate(written):
            count = resolve_budget(budget, pool_size)
            if count > pool_size:
                raise LbalError(
                    f"{grid.suite.where(*path, i)}: budget {budget} exceeds the pool of dataset "
                    f"'{dataset.spec.display}' ({pool_size} points)"
                )
            budgets.append(count)
        _check_increasing(grid, budgets, written, path)
        budgets = sorted(set(budgets))
        for b, backbone in enumerate(grid.backbones):
            try:
                weights_fp = fingerprint(plugin_call(backbone, "fingerprint", backbone.obj.fingerprint))
            except LbalError as exc:
                raise LbalError(f"{grid.suite.where('backbones', b)}: {exc}") from None
            for e, evaluator in enumerate(grid.evaluators):
                problem = plugin_call(dataset, "split", lambda: image_problem(evaluator, dataset, backbone))
                if problem:
                    raise LbalError(f"{grid.suite.where('evaluators', e)}: {problem}")
            for i, sampler in enumerate(grid.samplers):
                selections = _schedules(grid, sampler, budgets, pool_size, grid.suite.where("samplers", i))
                for seed in grid.suite.seeds:
                    for budget, selection in zip(budgets, selections):
                        for evaluator in grid.evaluators:
                            cells.append(Cell(dataset, backbone, sampler, evaluator, seed, budget,
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
    return [c for c in cells if all(any(c.matches(k, v) for v in vs) for k, vs in wanted.items())]
