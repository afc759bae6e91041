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


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """torch's CPU pool and the BLAS libraries on one thread for the block."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)
