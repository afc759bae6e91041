"""Datasets and a backbone that hand the core broken data, one fault each."""

import numpy as np

from lbal_bench import Split, hookimpl

FAULTS = ("none", "nan", "empty_class", "bad_label", "unreadable")


class Tiny:
    """40 pool and 20 test points in 4 classes, as features; ``fault`` breaks one thing:
    NaN features, a class with no pool example, a label outside the classes, or files
    that cannot be read (an exception that is no LbalError, as from a careless plugin)."""

    num_classes = 4
    class_names = ["ant", "bee", "cat", "dog"]

    def __init__(self, fault):
        self.fault = fault

    def split(self, name):
        train = name == "train"
        rng = np.random.default_rng(0 if train else 1)
        labels = np.arange(40 if train else 20) % 4
        features = (rng.normal(size=(len(labels), 4)) + labels[:, None]).astype(np.float32)
        if train and self.fault == "nan":
            features[[3, 7], 1] = np.nan
        if train and self.fault == "empty_class":
            labels = labels % 3  # no 'dog' in the pool
        if train and self.fault == "bad_label":
            labels[5] = 7
        return Split(labels=labels, features=features)

    def fingerprint(self):
        if self.fault == "unreadable":
            open("/nonexistent/tiny/labels.txt").close()
        return {"name": "tiny", "fault": self.fault, "version": 1}


class InfinitePixels:
    """Flattened pixels, with an infinite value in the first and last image's features."""

    def embed(self, images, progress=None):
        features = np.asarray(images, dtype=np.float32).reshape(len(images), -1).copy()
        features[[0, -1], 0] = np.inf
        return features

    def fingerprint(self):
        return {"name": "inf_pixels", "version": 1}


@hookimpl
def lbal_register_datasets(register):
    for fault in FAULTS:
        register("tiny" if fault == "none" else f"tiny_{fault}", lambda fault=fault: Tiny(fault))


@hookimpl
def lbal_register_backbones(register):
    register("inf_pixels", InfinitePixels)
