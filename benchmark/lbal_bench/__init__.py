"""lbal-bench: benchmark suite for low-budget active learning.

Plugins use ``hookimpl`` and the contracts re-exported here; notebooks use
:func:`run`, :func:`load_results` and :func:`select` (:mod:`lbal_bench.api`, imported on
first use so that plugins and ``lbal-bench --help`` stay fast).
"""

from importlib.metadata import PackageNotFoundError, version

from .contracts import (Backbone, Dataset, Evaluator, ImageEvaluator, ImageTask, LabelLeakError, LabelOracle, Pool,
                        Sampler, Split, TrainableBackbone)
from .errors import LbalError
from .hookspecs import hookimpl

try:
    __version__ = version("lbal-bench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_API = ("run", "load_results", "select")


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'lbal_bench' has no attribute '{name}'")


__all__ = [
    *_API,
    "Backbone",
    "Dataset",
    "Evaluator",
    "ImageEvaluator",
    "ImageTask",
    "LabelLeakError",
    "LabelOracle",
    "LbalError",
    "Pool",
    "Sampler",
    "Split",
    "TrainableBackbone",
    "hookimpl",
    "__version__",
]
