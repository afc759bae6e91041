"""Checks on the labels a dataset plugin hands the core, before any number depends on them.

(Features are checked where they are extracted, in :mod:`lbal_bench.features`: shape,
NaN and infinite values.)
"""

from __future__ import annotations

import numpy as np

from .plugin_handle import Plugin
from .errors import LbalError


def checked_labels(dataset: Plugin, split: str) -> np.ndarray:
    """The int64 labels of ``split``. An ``LbalError`` names the dataset when they are not
    a 1-D integer array, when it has no classes (unlabeled data), when a label lies
    outside ``0..num_classes-1``, or when a class has no example in the train split (the
    pool), where no sampler could ever label it."""
    labels = np.asarray(dataset.obj.split(split).labels)
    where = f"dataset '{dataset.spec.display}' ({split})"
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise LbalError(f"{where}: labels must be a 1-D integer array, got {labels.dtype} {list(labels.shape)}")
    classes = int(dataset.obj.num_classes)
    if len(labels) and classes < 1:
        raise LbalError(f"{where}: no labels (num_classes is {classes}); a benchmark needs the label of every point")
    outside = labels[(labels < 0) | (labels >= classes)]
    if len(outside):
        raise LbalError(f"{where}: label {outside[0]} is outside 0..{classes - 1} (num_classes is {classes})")
    if split == "train":
        empty = np.flatnonzero(np.bincount(labels, minlength=classes) == 0)
        if len(empty):
            names = list(dataset.obj.class_names)
            name = f" ('{names[empty[0]]}')" if len(names) == classes else ""
            more = f" (and {len(empty) - 1} more classes)" if len(empty) > 1 else ""
            raise LbalError(f"{where}: class {empty[0]}{name} has no examples{more}")
    return labels.astype(np.int64)
