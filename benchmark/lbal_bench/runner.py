"""Executes cells: features once per (dataset, backbone), one selection per
(sampler, seed, budget) shared by every evaluator, one record per cell.

Finished cells (a sound record exists) are skipped, so a killed run resumes where it
stopped; stored selections are reused too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import numpy as np
from rich.progress import Progress

from .cells import Cell, Plugin, Selection
from .contracts import LabelOracle, Pool
from .errors import LbalError
from .features import FeatureCache
from .provenance import environment, now
from .store import SCHEMA_VERSION, Record, ResultStore

T = TypeVar("T")


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


def check_selection(plugin: Plugin, indices: Any, budget: int, pool: Pool) -> np.ndarray:
    """The sampler's answer as int64 indices, or an error naming the plugin and the fault."""
    name = f"sampler '{plugin.spec.name}' ({plugin.info.distribution})"
    indices = np.asarray(indices)
    if indices.ndim != 1 or not (indices.size == 0 or np.issubdtype(indices.dtype, np.integer)):
        raise LbalError(f"{name} must return a 1-D array of integer indices, got {indices.dtype} {list(indices.shape)}")
    indices = indices.astype(np.int64)
    if len(indices) != budget:
        raise LbalError(f"{name} returned {len(indices)} indices for a budget of {budget}")
    size = len(pool.features)
    outside = indices[(indices < 0) | (indices >= size)]
    if len(outside):
        raise LbalError(f"{name} returned index {outside[0]} outside the pool of {size} points")
    values, counts = np.unique(indices, return_counts=True)
    if (counts > 1).any():
        raise LbalError(f"{name} returned index {values[counts > 1][0]} more than once")
    labeled = np.intersect1d(indices, pool.labeled)
    if len(labeled):
        raise LbalError(f"{name} returned already-labeled index {labeled[0]}")
    return indices


@dataclass
class RunSummary:
    """What a run did."""

    computed: int = 0
    skipped: int = 0
    recomputed: int = 0
    problems: list[str] = field(default_factory=list)


class Runner:
    """Runs cells against a result store and a feature cache."""

    def __init__(self, store: ResultStore, cache: FeatureCache, progress: Progress | None = None, suite: str = ""):
        self.store = store
        self.cache = cache
        self.progress = progress or Progress(disable=True)
        self.suite = suite

    def pending(self, cells: list[Cell]) -> list[Cell]:
        """Cells without a sound record."""
        return [c for c in cells if self.store.load(c.fingerprint)[0] is None]

    def run(self, cells: list[Cell]) -> RunSummary:
        """Compute every cell that has no sound record yet."""
        summary = RunSummary()
        todo: list[Cell] = []
        for cell in cells:
            record, problem = self.store.load(cell.fingerprint)
            if record is not None:
                summary.skipped += 1
                continue
            if problem:
                summary.problems.append(f"{problem}; recomputing")
                self.store.quarantine(cell.fingerprint)
                summary.recomputed += 1
            todo.append(cell)

        groups: dict[tuple[str, str], dict[str, list[Cell]]] = {}
        for cell in todo:
            pair = (cell.dataset.spec.display, cell.backbone.spec.display)
            groups.setdefault(pair, {}).setdefault(cell.selection_key(), []).append(cell)
        selecting = self.progress.add_task("selection", total=sum(len(g) for g in groups.values()))
        evaluating = self.progress.add_task("evaluation", total=len(todo))
        for selections in groups.values():
            first = next(iter(selections.values()))[0]
            data = self._data(first.dataset, first.backbone)
            for group in selections.values():
                selection = self._select(group[0], group[0].selection, data)
                self.progress.advance(selecting)
                for cell in group:
                    self._evaluate(cell, selection, data)
                    summary.computed += 1
                    self.progress.advance(evaluating)
        return summary

    def _data(self, dataset: Plugin, backbone: Plugin) -> dict:
        splits = {}
        for split in ("train", "test"):
            task = None

            def advance(n: int, _split=split) -> None:
                nonlocal task
                if task is None:
                    total = len(dataset.obj.split(_split))
                    task = self.progress.add_task(f"features {dataset.spec.display}/{_split}", total=total)
                self.progress.advance(task, n)

            features = plugin_call(backbone, "embed", lambda: self.cache.get(dataset, backbone, split, advance))
            splits[split] = (features, dataset.obj.split(split).labels.astype(np.int64))
        return {"train": splits["train"], "test": splits["test"], "num_classes": dataset.obj.num_classes}

    def _select(self, cell: Cell, selection: Selection, data: dict) -> dict:
        """The stored selection, or compute it (after its previous step, for iterative ones)."""
        key = cell.selection_key(selection)
        stored = self.store.load_selection(key)
        if stored is not None:
            return stored
        before = self._select(cell, selection.previous, data) if selection.previous else None
        labeled = before["indices"] if before else np.empty(0, dtype=np.int64)
        features, labels = data["train"]
        sampler = selection.sampler
        oracle = LabelOracle(labels, labeled, reveal_all=bool(getattr(sampler.obj, "uses_labels", False)))
        pool = Pool(features=features, labeled=labeled, num_classes=data["num_classes"], oracle=oracle)
        # a step's generator depends on (seed, budget) only, so a resumed chain continues identically
        rng = np.random.default_rng([cell.seed, selection.budget] if before else cell.seed)
        increment = selection.budget - len(labeled)
        start = time.perf_counter()
        raw = plugin_call(sampler, "select", lambda: sampler.obj.select(pool, increment, rng))
        seconds = time.perf_counter() - start
        indices = np.concatenate([labeled, check_selection(sampler, raw, increment, pool)])
        labels_seen = oracle.requests() + (before["labels_seen"] if before else 0)
        self.store.save_selection(key, indices, seconds, labels_seen)
        return {"indices": indices, "seconds": seconds, "labels_seen": labels_seen}

    def _evaluate(self, cell: Cell, selection: dict, data: dict) -> None:
        (train_x, train_y), (test_x, test_y) = data["train"], data["test"]
        chosen = selection["indices"]
        rng = np.random.default_rng(cell.seed)
        start = time.perf_counter()
        metrics = plugin_call(
            cell.evaluator,
            "evaluate",
            lambda: cell.evaluator.obj.evaluate(
                np.asarray(train_x[chosen]), train_y[chosen], test_x, test_y, data["num_classes"], rng
            ),
        )
        seconds = time.perf_counter() - start
        record = Record(
            schema_version=SCHEMA_VERSION,
            fingerprint=cell.fingerprint,
            config=cell.config(),
            display=cell.display(),
            uses_labels=bool(getattr(cell.sampler.obj, "uses_labels", False)),
            metrics={k: (float(v) if np.isscalar(v) else list(v)) for k, v in metrics.items()},
            selection={
                "file": str(self.store.selection_path(cell.selection_key()).relative_to(self.store.root)),
                "count": int(len(chosen)),
                "labels_seen": selection["labels_seen"],
            },
            timings={"selection_s": selection["seconds"], "evaluation_s": seconds},
            provenance={
                **environment(),
                "created": now(),
                "suite": self.suite,
                "plugins": {
                    kind: {"name": p.spec.name, "distribution": p.info.distribution, "version": p.info.version}
                    for kind, p in (("dataset", cell.dataset), ("backbone", cell.backbone),
                                    ("sampler", cell.sampler), ("evaluator", cell.evaluator))
                },
            },
        )
        self.store.write(record)
