"""The budget schedule: which selections a dataset's cells need and how they chain.

One module decides every budget question (paper §3–4): percentages resolved against the
pool, budgets that exceed it, the increasing order iterative samplers need, where each
iterative chain starts, the increment asked of the sampler at each step, the random
generator of each step, and whether a chain has read labels.

Starts. A single-batch sampler selects from scratch at every budget. An iterative
sampler starts from

- zero labels when it declares ``cold_start = True`` (TypiClust, ProbCover: as in their
  papers), or when the suite says ``initial_pool: none``;
- otherwise an initial pool picked by a single-batch sampler (``initial_pool: {sampler,
  size}``; default: the sampler that declares itself the default initial pool, ``random``
  among the reference plugins, at the smallest budget), as the paper does for
  Max-Entropy, Core-set and VAAL.

An iterative sampler that cannot start from nothing refuses ``initial_pool: none`` in one
line naming the suite entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import LbalError
from .plugin_handle import Plugin
from .registry import Registry
from .suite import PERCENT, NO_INITIAL_POOL, Budget, PluginSpec, Suite

INITIAL_POOL_ROLE = "initial_pool"


def resolve_budget(budget: Budget, pool_size: int) -> int:
    """An absolute count for ``budget`` (a count or a percentage of the pool)."""
    if isinstance(budget, str):
        return max(1, round(float(PERCENT.match(budget).group(1)) / 100 * pool_size))
    return budget


def selection_rng(seed: int, total: int, labeled: int) -> np.random.Generator:
    """The generator of a selection that brings ``labeled`` labeled points to ``total``:
    ``seed`` itself from scratch; for a step, (seed, total) only, so a resumed chain (or
    ``lbal-bench select`` on the same labeled set) continues identically."""
    return np.random.default_rng([seed, total] if labeled else seed)


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

    @property
    def labeled_before(self) -> int:
        """How many points are labeled when the sampler is called."""
        return self.previous.budget if self.previous else 0

    @property
    def increment(self) -> int:
        """How many points the sampler is asked for."""
        return self.budget - self.labeled_before

    def rng(self, seed: int) -> np.random.Generator:
        """The generator this step's sampler receives."""
        return selection_rng(seed, self.budget, self.labeled_before)

    @property
    def uses_labels(self) -> bool:
        """Whether any step of the chain read every label of the pool: a chain started by a
        label-reading sampler is label-reading in every record it produces."""
        return self.sampler.flag("uses_labels") or bool(self.previous and self.previous.uses_labels)

    @property
    def root(self) -> "Selection":
        """The first selection of the chain."""
        return self.previous.root if self.previous else self

    def start(self, sampler: Plugin) -> str:
        """How the chain of a cell of ``sampler`` started, as the board shows it: ``from 0``
        (nothing labeled: single-batch and cold-start selections) or ``from 10 random``
        (an initial pool of 10 picked by ``random``)."""
        root = self.root
        if root.sampler.spec == sampler.spec:
            return "from 0"
        return f"from {root.budget} {root.sampler.spec.display}"


@dataclass(frozen=True)
class Start:
    """Where an iterative sampler's chain starts: ``sampler`` picks ``size`` points
    (``size`` None: the smallest budget), or nothing is labeled (``sampler`` None)."""

    sampler: Plugin | None
    size: Budget | None = None


def starts(suite: Suite, samplers: list[Plugin], build: Callable[[str, PluginSpec, tuple], Plugin],
           registry: Registry) -> dict[str, Start]:
    """The start of every iterative sampler of ``suite`` (by display name); ``build``
    builds a plugin with errors naming its suite entry."""
    result = {}
    for i, (spec, sampler) in enumerate(zip(suite.samplers, samplers)):
        where = ("samplers", i, "initial_pool")
        given = spec.initial_pool
        if not sampler.flag("iterative"):
            if given is not None:
                raise LbalError(
                    f"{suite.where(*where)}: sampler '{spec.name}' is not iterative (it selects from "
                    "scratch at every budget), so it takes no initial_pool"
                )
            continue
        if given == NO_INITIAL_POOL or (given is None and sampler.flag("cold_start")):
            if not sampler.flag("cold_start"):
                raise LbalError(
                    f"{suite.where(*where)}: sampler '{spec.name}' needs labeled points to start (it does "
                    "not declare cold_start): give initial_pool: {sampler: NAME, size: N}"
                )
            result[spec.display] = Start(None)
            continue
        first = given.sampler if given is not None else PluginSpec(name=default_initial_sampler(registry, suite.where(*where)))
        initial = build("sampler", first, where)
        if initial.flag("iterative"):
            raise LbalError(
                f"{suite.where(*where)}: the initial pool of '{spec.display}' needs a single-batch "
                f"sampler, and '{first.name}' is iterative"
            )
        result[spec.display] = Start(initial, given.size if given is not None else None)
    return result


def default_initial_sampler(registry: Registry, where: str) -> str:
    """The sampler that declares itself the default initial pool (``register(...,
    default_for=["initial_pool"])``), or an error saying how to name one."""
    name = registry.default_for("sampler", INITIAL_POOL_ROLE)
    if name is None:
        raise LbalError(f"{where}: no installed sampler declares itself the default initial pool: "
                        "give initial_pool: {sampler: NAME, size: N}")
    return name


def dataset_budgets(suite: Suite, d: int, dataset: str, pool_size: int, iterative: str | None) -> list[int]:
    """Dataset ``d``'s budgets as sorted counts: percentages resolved against its pool of
    ``pool_size``; a budget beyond the pool, or (when ``iterative`` names an iterative
    sampler of the suite) budgets not increasing in the order written, are errors naming
    the suite line."""
    written, path = suite.budgets_of(d)
    budgets = []
    for i, budget in enumerate(written):
        count = resolve_budget(budget, pool_size)
        if count > pool_size:
            raise LbalError(f"{suite.where(*path, i)}: budget {budget} exceeds the pool of dataset "
                            f"'{dataset}' ({pool_size} points)")
        if iterative and budgets and count <= budgets[-1]:
            raise LbalError(
                f"{suite.where(*path, i)}: budgets must increase for the iterative sampler "
                f"'{iterative}' (each step adds to the one before), but {budget!r} "
                f"({count} points) follows {written[i - 1]!r} ({budgets[-1]} points)"
            )
        budgets.append(count)
    return sorted(set(budgets))


def selections(sampler: Plugin, start: Start | None, budgets: list[int], pool_size: int, where: str) -> list[Selection]:
    """The selection at every budget: from scratch for a single-batch sampler (``start``
    None), else a chain of iterative steps from its start."""
    if start is None:
        return [Selection(sampler, b) for b in budgets]
    if start.sampler is None:
        previous = None
    else:
        previous = Selection(start.sampler, budgets[0] if start.size is None else resolve_budget(start.size, pool_size))
        if previous.budget > budgets[0]:
            raise LbalError(
                f"{where}: the initial pool of '{sampler.spec.display}' ({previous.budget} points) is larger "
                f"than the smallest budget {budgets[0]}"
            )
    chain = []
    for budget in budgets:
        if previous is None or budget != previous.budget:
            previous = Selection(sampler, budget, previous)
        chain.append(previous)
    return chain
