"""Shared data for the benchmarks: synthetic clustered features at realistic scale.

Benchmarks are not tests: run them with ``pytest benchmarks/ --benchmark-only`` and
report ratios against a baseline measured in the same run (see benchmarks/RESULTS.md).
``clustered_features`` is the generator of the ``synthetic`` dataset plugin, so a
benchmark's arrays and a suite's ``synthetic`` pool are the same data.
"""

from __future__ import annotations

from lbal_plugins.datasets.synthetic import clustered_features

__all__ = ["clustered_features"]
