"""Evaluating a selection: a feature evaluator on the labeled train features, or an
image evaluator (``needs_images = True``) on an ``ImageTask``.

A feature evaluator may also declare ``evaluate_batch`` (:func:`batches`): several
selections of one size evaluated in one call, each with its own cell's generator, each
giving the metrics ``evaluate`` would (the runner then evaluates cells that share a
dataset, backbone, budget and evaluator together; ``linear`` trains their heads as one
stacked problem), and ``batch_pays(budget, num_classes)`` where batching pays only for
some cells. An evaluator without them is evaluated cell by cell, as before.

An image evaluator needs a dataset that holds images and a backbone with a trainable
network; :func:`image_problem` says so in one line when a suite is expanded (so
``lbal-bench validate`` and ``run`` refuse the pairing before any work) and again when a
task is built.
"""

from __future__ import annotations

import time

import numpy as np

from .contracts import ImageTask
from .errors import LbalError
from .guard import checked_metrics
from .plugin_handle import Plugin, plugin_call


def needs_images(evaluator: Plugin) -> bool:
    """Whether ``evaluator`` trains on images (declares ``needs_images = True``)."""
    return bool(getattr(evaluator.obj, "needs_images", False))


def batches(evaluator: Plugin, budget: int, num_classes: int) -> bool:
    """Whether ``evaluator`` evaluates cells of ``budget`` labels and ``num_classes``
    classes several in one call: a feature evaluator with an ``evaluate_batch`` method,
    unless its optional ``batch_pays(budget, num_classes)`` says no."""
    if needs_images(evaluator) or not callable(getattr(evaluator.obj, "evaluate_batch", None)):
        return False
    pays = getattr(evaluator.obj, "batch_pays", None)
    return not callable(pays) or bool(plugin_call(evaluator, "batch_pays", lambda: pays(budget, num_classes)))


def evaluation_rng(seed: int) -> np.random.Generator:
    """The generator a cell's evaluation gets (from the cell's seed), alone or in a batch."""
    return np.random.default_rng(seed)


def _named(plugin: Plugin) -> str:
    return f"{plugin.info.kind} '{plugin.spec.name}' ({plugin.info.distribution})"


def image_problem(evaluator: Plugin, dataset: Plugin, backbone: Plugin) -> str | None:
    """Why ``evaluator`` cannot run on ``dataset`` with ``backbone``; None if it can (or
    needs no images)."""
    if not needs_images(evaluator):
        return None
    if any(dataset.obj.split(name).images is None for name in ("train", "test")):
        return (f"{_named(evaluator)} trains on images, but {_named(dataset)} "
                "holds precomputed features only")
    if not all(callable(getattr(backbone.obj, name, None)) for name in ("network", "preprocess")):
        return (f"{_named(evaluator)} trains the backbone's network, but {_named(backbone)} "
                "has no network() and preprocess (see TrainableBackbone in lbal_bench.contracts)")
    return None


def image_task(evaluator: Plugin, dataset: Plugin, backbone: Plugin, labeled: np.ndarray, labels: np.ndarray,
               test_labels: np.ndarray, num_classes: int) -> ImageTask:
    """The task of an image evaluator: ``labels`` are those of ``labeled`` only."""
    problem = image_problem(evaluator, dataset, backbone)
    if problem:
        raise LbalError(problem)
    return ImageTask(
        pool_images=dataset.obj.split("train").images,
        labeled=np.asarray(labeled, dtype=np.int64),
        labels=np.asarray(labels, dtype=np.int64),
        test_images=dataset.obj.split("test").images,
        test_labels=np.asarray(test_labels, dtype=np.int64),
        num_classes=num_classes,
        backbone=backbone.obj,
    )


def evaluate(evaluator: Plugin, dataset: Plugin, backbone: Plugin, chosen: np.ndarray, data: dict,
             rng: np.random.Generator) -> tuple[dict, float]:
    """The metrics of ``evaluator`` on the selection ``chosen`` and the seconds it took;
    ``data`` holds the ``train``/``test`` ``(features, labels)`` and ``num_classes``. An
    image evaluator gets the labels of ``chosen`` only."""
    (train_x, train_y), (test_x, test_y) = data["train"], data["test"]
    start = time.perf_counter()
    if needs_images(evaluator):
        task = plugin_call(dataset, "split", lambda: image_task(
            evaluator, dataset, backbone, chosen, train_y[chosen], test_y, data["num_classes"]))
        metrics = plugin_call(evaluator, "evaluate_images", lambda: evaluator.obj.evaluate_images(task, rng))
    else:
        metrics = plugin_call(evaluator, "evaluate", lambda: evaluator.obj.evaluate(
            np.asarray(train_x[chosen]), train_y[chosen], test_x, test_y, data["num_classes"], rng))
    return checked_metrics(evaluator, metrics), time.perf_counter() - start


def evaluate_batch(evaluator: Plugin, chosen: list[np.ndarray], data: dict,
                   rngs: list[np.random.Generator]) -> tuple[list[dict], float]:
    """The metrics of a batching ``evaluator`` (:func:`batches`) on each selection of
    ``chosen`` (all of one size), ``rngs[i]`` the generator of selection ``i``'s cell, and
    the seconds the whole batch took."""
    (train_x, train_y), (test_x, test_y) = data["train"], data["test"]
    start = time.perf_counter()
    results = plugin_call(evaluator, "evaluate_batch", lambda: evaluator.obj.evaluate_batch(
        [np.asarray(train_x[c]) for c in chosen], [train_y[c] for c in chosen], test_x, test_y,
        data["num_classes"], rngs))
    if not isinstance(results, (list, tuple)) or len(results) != len(chosen):
        got = f"{len(results)} results" if isinstance(results, (list, tuple)) else f"a {type(results).__name__}"
        raise LbalError(f"{_named(evaluator)} evaluate_batch returned {got} for {len(chosen)} selections: "
                        "return one metrics dict per selection, in order")
    return [checked_metrics(evaluator, metrics) for metrics in results], time.perf_counter() - start
