"""lbal-bench: benchmark suite for low-budget active learning.

Plugins use ``hookimpl`` and the contracts re-exported here.
"""

from importlib.metadata import PackageNotFoundError, version

from .contracts import Backbone, Dataset, Evaluator, LabelLeakError, LabelOracle, Pool, Sampler, Split
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
    "LabelLeakError",
    "LabelOracle",
    "LbalError",
    "Pool",
    "Sampler",
    "Split",
    "hookimpl",
    "__version__",
]
