"""Executes cells: features once per (dataset, backbone), one selection per
(sampler, seed, budget) shared by every evaluator, one record per cell.

Finished cells (a sound record exists) are skipped, so a killed run resumes where it
stopped; stored selections are reused too.

The cells to compute are cut into chains of work that depends on each other: an
iterative sampler's steps in budget order for one dataset × backbone × seed, or a
single-batch sampler's selection at one budget, each with its evaluations. An executor
(:mod:`lbal_bench.executors`) runs :func:`run_chain` on each: in this process, in worker
processes, or on a cluster. Every chain reads features from the feature cache and
writes to the results directory itself, so every executor gives the same records in the
same place.

Cells whose evaluator batches them (``evaluate_batch``, :func:`lbal_bench.evaluation.batches`)
are not evaluated in their selection's chain: the cells that share a dataset, backbone,
budget and evaluator (other samplers, seeds, starts) form a batch (split in parts where
it is more than one worker's share of the evaluations), a unit of work submitted after the
chains, which evaluates them in one call and writes one record per cell. A batch computes (or waits for) whichever of its selections are not stored yet, so
it depends on no order of execution, and it holds a claim on its key, so runs sharing a
results directory do not evaluate a cell twice. Every record equals the one the cell
would get evaluated alone, apart from its time and provenance (tests/test_batched_evaluation.py).
"""

from __future__ import annotations

import copy
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np
from rich.progress import Progress

from .cells import Cell
from .datachecks import checked_labels
from .errors import LbalError
from .evaluation import batches, evaluate, evaluate_batch, evaluation_rng
from .executors import Executor
from .executors.local import LocalExecutor
from .faults import pause_point
from .features import FeatureCache
from .plugin_handle import Plugin, fingerprint, plugin_call
from .sampling import run_sampler
from .schedule import Selection
from .store import ResultStore

T = TypeVar("T")


@dataclass
class RunSummary:
    """What a run did."""

    computed: int = 0
    skipped: int = 0
    recomputed: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class ChainResult:
    """What computing one chain did; ``error`` is the ``LbalError`` that stopped it."""

    selections: int = 0
    computed: int = 0
    skipped: int = 0
    error: LbalError | None = None
    problems: list[str] = field(default_factory=list)  # corrupt selections set aside (``ResultStore.problems``)


@dataclass
class Chain:
    """One unit of work for an executor: the cells of a chain (or, with ``batch``, of an
    evaluation batch), where to read and write, and the cells' fingerprints on the
    submitting machine."""

    store: ResultStore
    cache: FeatureCache
    suite: str
    cells: list[Cell]
    fingerprints: list[str]
    batch: bool = False


def run_chain(chain: Chain) -> ChainResult:
    """Compute one chain, in whatever process an executor runs it; an ``LbalError`` comes
    back in the result (the same one line under every executor)."""
    try:
        for cell, expected in zip(chain.cells, chain.fingerprints):
            if cell.fingerprint != expected:
                raise LbalError(
                    f"cell {expected} has fingerprint {cell.fingerprint} on {platform.node()}: install the "
                    "same lbal-bench and plugin versions on every worker as on the submitting machine"
                )
        runner = Runner(chain.store, chain.cache, suite=chain.suite)
        result = runner.compute_batch(chain.cells) if chain.batch else runner.compute_chain(chain.cells)
    except LbalError as exc:
        result = ChainResult(error=exc)
    result.problems, chain.store.problems = chain.store.problems, []
    return result


def batch_key(cell: Cell) -> str:
    """What the cells of one evaluation batch share: dataset, backbone (with their data and
    weights), budget and evaluator with its options."""
    return fingerprint({
        "dataset": {**cell.dataset.config(), "fingerprint": cell.data_fingerprint},
        "backbone": {**cell.backbone.config(), "fingerprint": cell.weights_fingerprint},
        "budget": cell.budget,
        "evaluator": cell.evaluator.config(),
    })


def split_batches(batched: dict[str, list[Cell]], workers: int) -> list[list[Cell]]:
    """The evaluation batches of each key (``batch_key`` → cells), cut in parts so that no
    part holds more than one worker's share of all the evaluations (cells × budget), so a
    few large batches (ImageNet-size heads) still run side by side; largest first."""
    work = {key: len(cells) * cells[0].budget for key, cells in batched.items()}
    total = sum(work.values())
    parts = {key: min(len(cells), -(-workers * work[key] // total)) for key, cells in batched.items()}
    split = [cells[part::parts[key]] for key, cells in batched.items() for part in range(parts[key])]
    return sorted(split, key=lambda cells: -cells[0].budget * len(cells))


def _absolute(obj: T) -> T:
    """A copy of a store or cache with its paths made absolute."""
    clone = copy.copy(obj)
    for name, value in vars(obj).items():
        if isinstance(value, Path):
            setattr(clone, name, value.resolve())
    return clone


class Runner:
    """Runs cells against a result store and a feature cache; an executor (default: this
    process) runs the chains. ``on_problem(line)`` is called with each problem as soon as
    this process learns of it (a corrupt record or selection set aside and recomputed),
    also when the run then fails; every problem also ends up in the summary."""

    def __init__(self, store: ResultStore, cache: FeatureCache, progress: Progress | None = None, suite: str = "",
                 executor: Executor | None = None, on_problem: Callable[[str], None] | None = None):
        self.store = store
        self.cache = cache
        self.progress = progress or Progress(disable=True)
        self.suite = suite
        self.executor = executor or LocalExecutor()
        self.on_problem = on_problem

    def _problem(self, summary: RunSummary, problem: str) -> None:
        summary.problems.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)

    def pending(self, cells: list[Cell]) -> list[Cell]:
        """Cells without a sound record."""
        return [c for c in cells if self.store.load(c.fingerprint)[0] is None]

    def run(self, cells: list[Cell]) -> RunSummary:
        """Compute every cell that has no sound record yet."""
        summary = RunSummary()
        self.store.prepare()
        todo: list[Cell] = []
        for cell in cells:
            record, problem = self.store.load(cell.fingerprint)
            if record is not None:
                summary.skipped += 1
                continue
            if problem:
                self._problem(summary, f"{problem}; recomputing")
                self.store.quarantine(cell.fingerprint)
                summary.recomputed += 1
            todo.append(cell)

        chains: dict[tuple, list[Cell]] = {}
        for cell in todo:
            chain = (cell.dataset.spec.display, cell.backbone.spec.display, cell.sampler.spec.display, cell.seed)
            if not cell.sampler.flag("iterative"):
                chain += (cell.budget,)  # a single-batch selection depends on nothing else
            chains.setdefault(chain, []).append(cell)
        # longest first (the iterative chains: a selection per budget; then the largest
        # budgets), so that workers do not end waiting on one long chain started last
        chains = dict(sorted(chains.items(), key=lambda item: (
            -len({c.budget for c in item[1]}), -max(c.budget for c in item[1]))))
        batched: dict[str, list[Cell]] = {}
        for cell in todo:
            if batches(cell.evaluator, cell.budget, cell.dataset.obj.num_classes):
                batched.setdefault(batch_key(cell), []).append(cell)
        if not self.executor.extracts_features:
            for first in {(c[0].dataset.spec.display, c[0].backbone.spec.display): c[0] for c in chains.values()}.values():
                self._data(first.dataset, first.backbone)  # extracted here, once, before any chain starts
        selecting = self.progress.add_task(
            "selection", total=sum(len({c.selection_key() for c in chain}) for chain in chains.values()))
        evaluating = self.progress.add_task("evaluation", total=len(todo))
        store, cache = _absolute(self.store), _absolute(self.cache)  # workers may have another cwd
        jobs = [Chain(store, cache, self.suite, cells, [c.fingerprint for c in cells]) for cells in chains.values()]
        # after the chains, whose selections they evaluate
        jobs += [Chain(store, cache, self.suite, cells, [c.fingerprint for c in cells], batch=True)
                 for cells in split_batches(batched, getattr(self.executor, "jobs", None) or 1)]
        try:
            for result in self.executor.map(run_chain, jobs):
                for problem in result.problems:
                    self._problem(summary, problem)
                if result.error is not None:
                    raise result.error
                summary.computed += result.computed
                summary.skipped += result.skipped  # another process finished them meanwhile
                self.progress.advance(selecting, result.selections)
                self.progress.advance(evaluating, result.computed + result.skipped)
        except LbalError as exc:  # a time-limit worker stopped mid-chain: what it told of first
            for problem in exc.problems:
                self._problem(summary, problem)
            raise
        return summary

    def compute_chain(self, cells: list[Cell]) -> ChainResult:
        """Compute ``cells``, one chain: each selection in budget order (an iterative step
        after its previous one), then its evaluations (those of a batching evaluator are
        left to their batch, :meth:`compute_batch`)."""
        data = self._data(cells[0].dataset, cells[0].backbone)
        groups: dict[str, list[Cell]] = {}
        for cell in cells:
            groups.setdefault(cell.selection_key(), []).append(cell)
        result = ChainResult()
        for group in self._claimed(groups.values()):
            selection = self._select(group[0], group[0].selection, data)
            result.selections += 1
            for cell in group:
                if batches(cell.evaluator, cell.budget, cell.dataset.obj.num_classes):
                    continue
                if self._evaluate(cell, selection, data):
                    result.computed += 1
                else:
                    result.skipped += 1
        return result

    def compute_batch(self, cells: list[Cell]) -> ChainResult:
        """Evaluate ``cells``, one evaluation batch (cells of one ``batch_key``), in one call
        of their evaluator, while holding the batch's claim; cells another process finished
        are skipped (before and, under the cell's lock, again before its record is
        written), and their selections are computed first where none is stored yet."""
        first = cells[0]
        data = self._data(first.dataset, first.backbone)
        result = ChainResult()
        with self.store.lock(f"{fingerprint(sorted(c.fingerprint for c in cells))}.batch"):
            todo = [c for c in cells if self.store.load(c.fingerprint)[0] is None]
            result.skipped = len(cells) - len(todo)
            if not todo:
                return result
            selections = [self._select(c, c.selection, data) for c in todo]
            metrics, seconds = evaluate_batch(first.evaluator, [s["indices"] for s in selections], data,
                                              [evaluation_rng(c.seed) for c in todo])
            for cell, selection, cell_metrics in zip(todo, selections, metrics):
                with self.store.lock(cell.fingerprint):
                    if self.store.load(cell.fingerprint)[0] is not None:
                        result.skipped += 1
                        continue
                    # the batch's time, shared equally: what each cell's evaluation cost
                    self._store_record(cell, selection, cell_metrics, seconds / len(todo))
                result.computed += 1
        return result

    def _claimed(self, groups: Iterable[list[Cell]]) -> Iterator[list[Cell]]:
        """The groups of cells sharing a selection, each while this process holds its claim;
        a group another process is working on comes last (by then it is usually done), so
        runs sharing a results directory split the work instead of queueing on it."""
        later = []
        for group in groups:
            with self.store.lock(f"{group[0].selection_key()}.group", wait=False) as mine:
                if mine:
                    yield group
                else:
                    later.append(group)
        for group in later:
            with self.store.lock(f"{group[0].selection_key()}.group"):
                yield group

    def _data(self, dataset: Plugin, backbone: Plugin) -> dict:
        splits = {}
        for split in ("train", "test"):
            task = None

            def advance(n: int, _split=split) -> None:
                nonlocal task
                if task is None:
                    total = len(dataset.obj.split(_split))
                    task = self.progress.add_task(f"features {dataset.spec.display}/{_split}", total=total, unit="images")
                self.progress.advance(task, n)

            features = plugin_call(backbone, "embed", lambda: self.cache.get(dataset, backbone, split, advance))
            splits[split] = (features, checked_labels(dataset, split))
        return {"train": splits["train"], "test": splits["test"], "num_classes": dataset.obj.num_classes}

    def _select(self, cell: Cell, selection: Selection, data: dict) -> dict:
        """The stored selection, or compute it (after its previous step, for iterative ones)."""
        key = cell.selection_key(selection)
        size = len(data["train"][0])
        stored = self.store.load_selection(key, selection.budget, size)
        if stored is not None:
            return stored
        before = self._select(cell, selection.previous, data) if selection.previous else None
        with self.store.lock(key):  # another process may have stored it meanwhile
            stored = self.store.load_selection(key, selection.budget, size)
            return stored if stored is not None else self._new_selection(cell, selection, key, before, data)

    def _new_selection(self, cell: Cell, selection: Selection, key: str, before: dict | None, data: dict) -> dict:
        """Run the sampler on top of ``before`` (the previous step, or None), check and store its picks."""
        labeled = before["indices"] if before else np.empty(0, dtype=np.int64)
        features, labels = data["train"]
        picks = run_sampler(selection.sampler, features, labels, labeled, data["num_classes"], selection.increment,
                            selection.rng(cell.seed))
        indices = np.concatenate([labeled, picks.indices])
        labels_seen = picks.labels_seen + (before["labels_seen"] if before else 0)
        pause_point("select", key)
        self.store.save_selection(key, indices, picks.seconds, labels_seen, picks.info)
        return {"indices": indices, "seconds": picks.seconds, "labels_seen": labels_seen, "info": picks.info}

    def _evaluate(self, cell: Cell, selection: dict, data: dict) -> bool:
        """Compute and store the cell's record; False when another process stored it meanwhile."""
        if self.store.load(cell.fingerprint)[0] is not None:
            return False
        self._write_record(cell, selection, data)
        return True

    def _write_record(self, cell: Cell, selection: dict, data: dict) -> None:
        metrics, seconds = evaluate(cell.evaluator, cell.dataset, cell.backbone, selection["indices"], data,
                                    evaluation_rng(cell.seed))
        self._store_record(cell, selection, metrics, seconds)

    def _store_record(self, cell: Cell, selection: dict, metrics: dict, seconds: float) -> None:
        record = self.store.new_record(cell, selection, metrics, seconds, self.suite)
        pause_point("evaluate", cell.fingerprint)
        self.store.write(record)
