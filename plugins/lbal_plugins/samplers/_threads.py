"""One CPU thread for loops of many small steps (the greedy picks of ``maxherding`` and
``uherding``, the Adam steps of ``activeft``).

Each step there is a small matrix-vector product; with more torch or BLAS threads the
threads mostly wait on each other, and on a busy machine they spin: on 2 cores shared
with other work, one selection on the digits pool took 5 s with 2 BLAS threads and
0.07 s with one. The thread counts are restored afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lbal_bench.kit.compute import one_blas_thread


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """torch's CPU pool and the BLAS libraries on one thread for the block."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with one_blas_thread():
            yield
    finally:
        torch.set_num_threads(threads)
