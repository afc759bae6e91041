"""lbal-bench: benchmark suite for low-budget active learning.

Plugins use ``hookimpl`` and the contracts re-exported here.
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

__all__ = [
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
