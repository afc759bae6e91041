"""Shared data for the benchmarks: synthetic clustered features at realistic scale.

Benchmarks are not tests: run them with ``pytest benchmarks/ --benchmark-only`` and
report ratios against a baseline measured in the same run (see benchmarks/RESULTS.md).
``clustered_features`` is the generator of the ``synthetic`` dataset plugin, so a
benchmark's arrays and a suite's ``synthetic`` pool are the same data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lbal_plugins.datasets.synthetic import clustered_features

__all__ = ["clustered_features", "one_thread"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """torch and faiss on one CPU thread for the block (like for like on a shared
    machine), their thread counts restored afterwards."""
    import faiss
    import torch

    torch_threads, faiss_threads = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        faiss.omp_set_num_threads(faiss_threads)
