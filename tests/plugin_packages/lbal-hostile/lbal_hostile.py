"""Plugins that attack the process running them, one way each: they exit, hang, write
into the shared features, hand back what no record can hold, or lie in their flags,
fingerprints and declarations. The core must contain every one with a line naming the plugin."""

import os
import sys
import time

import numpy as np

from lbal_bench import hookimpl


class Hostile:
    """A sampler that picks the first unlabeled points after doing its ``fault``."""

    uses_labels = False
    iterative = False

    def __init__(self, fault):
        self.fault = fault
        if fault == "flag":
            self.iterative = "no"  # a truthy string, not a bool
        if fault == "hang_step":
            self.iterative = True  # hangs on the steps after its chain's initial pool

    def select(self, pool, budget, rng):
        if self.fault == "exit":
            sys.exit(0)
        if self.fault == "interrupt":
            raise KeyboardInterrupt
        if self.fault == "os_exit":
            os._exit(3)
        if self.fault in ("hang", "hang_step"):
            time.sleep(3600)
        if self.fault == "mutate":
            features = pool.features
            try:
                features.setflags(write=True)
            except ValueError:
                base = features.base  # the array under a view
                base.setflags(write=True)
            features[:] = 0
        return pool.unlabeled[:budget]


def broken_factory():
    raise RuntimeError("factory failed")


RESULTS = {
    "nan": lambda: {"top1": float("nan")},
    "inf": lambda: {"top1": float("inf")},
    "empty": lambda: {},
    "string": lambda: {"top1": "abc"},
    "none": lambda: None,
    "list": lambda: ["a", "b"],
    "nested": lambda: {"top1": {"a": 1.0}},
    "key": lambda: {1: 50.0},
    "array": lambda: {"top1": np.array([42])},
    "tensor": lambda: {"top1": __import__("torch").tensor(0.5)},
}


class BadResult:
    """An evaluator whose result is wrong in one way."""

    def __init__(self, fault):
        self.result = RESULTS[fault]

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes, rng):
        return self.result()


class Pixels:
    """Flattened pixels scaled by ``scale`` in ``dtype`` (3e38 float32 rows, 1e300 float64
    rows, all zero), stored as ``features_dtype``; ``fingerprint_object`` puts an object
    into its fingerprint."""

    def __init__(self, scale=1.0, dtype="float32", features_dtype="float32", fingerprint_object=False):
        self.scale, self.dtype = scale, dtype
        self.features_dtype = features_dtype
        self.fingerprint_object = fingerprint_object

    def embed(self, images, progress=None):
        flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
        return (flat / 16.0 * self.scale).astype(self.dtype)

    def fingerprint(self):
        fp = {"name": "hostile_pixels", "scale": self.scale, "dtype": self.dtype}
        if self.fingerprint_object:
            fp["transform"] = object()
        return fp


class LyingPixels(Pixels):
    """Pixels whose declaration of what it embeds is not a tuple of kinds."""

    accepts = 3


@hookimpl
def lbal_register_samplers(register):
    for fault in ("exit", "interrupt", "os_exit", "hang", "hang_step", "mutate", "flag"):
        register(f"hostile_{fault}", lambda fault=fault: Hostile(fault))
    register("hostile_factory", broken_factory)


@hookimpl
def lbal_register_evaluators(register):
    for fault in RESULTS:
        register(f"returns_{fault}", lambda fault=fault: BadResult(fault))


@hookimpl
def lbal_register_backbones(register):
    register("hostile_pixels", Pixels)
    register("hostile_accepts", LyingPixels)
