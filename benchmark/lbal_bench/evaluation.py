"""Evaluating a selection: a feature evaluator on the labeled train features, or an
image evaluator (``needs_images = True``) on an ``ImageTask``.

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
