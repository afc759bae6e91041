"""What an image evaluator (``needs_images = True``) needs from a cell: a dataset that
holds images and a backbone with a trainable network; the check that says so in one
line, and the ``ImageTask`` the runner hands the evaluator.

The check runs when a suite is expanded (so ``lbal-bench validate`` and ``run`` refuse
the pairing before any work) and again when a task is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .contracts import ImageTask
from .errors import LbalError

if TYPE_CHECKING:
    from .cells import Plugin


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
