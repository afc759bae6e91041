"""``maxherding``: MaxHerding, greedy maximisation of generalised (kernel) coverage.

Bae, Noh and Sutherland, "Generalized Coverage for More Robust Low-Budget Active
Learning", ECCV 2024 (reference code: BorealisAI/uherding, ``deep-al/pycls/al/herding.py``,
which also holds UHerding). Coverage of the pool by a labeled set ``L`` is
``sum_j max_{l in L} k(x_j, x_l)`` with the Gaussian kernel
``k(x, y) = exp(-(||x - y|| / h)^2)``; each pick is the unlabeled point that raises it the
most::

    gain(i) = sum_j max(k(x_i, x_j) - m_j, 0),     m_j = max over the labeled and picked l of k(x_j, x_l)

(``m_j = 0`` when nothing is labeled). Iterative and cold-start: with nothing labeled
the first pick is the point of largest kernel density, as in the paper, whose experiments
start from zero labels (``initial_size=0`` in the released scripts). Ties go to the
lower pool index.

Defaults follow the released code: ``h=1.0`` on L2-normalised features
(``scripts/run_budget.sh``: ``kernel=rbf``, ``delta=1.0``), and the candidates are
the labeled points plus a random subset of the unlabeled ones of the reference's size
(``compute_cand_size``: at most 35,000, fewer as ``|L| + budget`` grows, never fewer than
the budget; ``subset_size`` overrides the cap); coverage is measured over the same
points. ``pool.info`` records ``kernel_width`` and ``candidates``.

The greedy keeps every candidate's gain and, after a pick, subtracts only what changes:
the terms of the points ``j`` whose ``m_j`` the new pick raised (those nearer to it than
to any earlier pick), instead of re-summing the whole ``M × M`` kernel at every pick as
the reference does. The picks are the same; gains are accumulated in float64 from a
float32 kernel. The greedy loop runs on one CPU thread (``_threads``).

Where we differ from the reference code:

- Only the Gaussian kernel (the paper's and the scripts' choice); the code also offers
  top-hat, Student-t, Laplace, Cauchy and rational-quadratic kernels.
- The reference's kernel and gains live on the GPU in float32 and its ``argmax`` breaks
  ties by position in a shuffled candidate list; ours breaks them by pool index.
- The ``M × M`` kernel is held in memory (float32, built block by block): 35,000
  candidates take 4.9 GB, as in the reference.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from annotated_types import Ge, Gt

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import sqdist_blocks

from ._threads import single_thread

MAX_CANDIDATES = 35_000

# the option types maxherding shares with uherding, range included
KernelWidth = Annotated[float, Gt(0)]
SubsetSize = Annotated[int, Ge(1)]


def candidate_count(labeled: int, budget: int, cap: int = MAX_CANDIDATES) -> int:
    """The reference's candidate-subset size (``compute_cand_size``): a kernel of
    ``(|L| + M)²`` entries stays near 45,000², at most ``cap``, at least ``budget``."""
    n = labeled + budget
    size = int(math.sqrt(45_000 * 45_000 + n * n / 4) - 1.5 * n)
    return max(min(cap, size), budget)


def candidates(pool: Pool, budget: int, rng: np.random.Generator, cap: int) -> np.ndarray:
    """The labeled points and a random subset of the unlabeled ones, in pool order."""
    unlabeled = pool.unlabeled
    size = candidate_count(len(pool.labeled), budget, cap)
    if size < len(unlabeled):
        unlabeled = np.sort(rng.choice(unlabeled, size, replace=False))
    return np.sort(np.concatenate([pool.labeled, unlabeled])).astype(np.int64)


def gaussian_kernel(x: np.ndarray, width: float) -> np.ndarray:
    """``exp(-||x_i - x_j||² / width²)`` for every pair of rows, float32 ``[M, M]``."""
    kernel = np.empty((len(x), len(x)), dtype=np.float32)
    for start, d2 in sqdist_blocks(x, x):
        kernel[start:start + len(d2)] = d2.clamp_(min=0).div_(-width * width).exp_().cpu().numpy()
    return kernel


def herding(kernel: np.ndarray, taken: np.ndarray, budget: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``kernel`` picked greedily by weighted kernel-coverage gain.

    ``taken`` marks the rows already labeled (never picked; their kernel rows set the
    starting coverage); ``weights[j]`` weighs point ``j`` in the coverage (1 if None).
    Each pick maximises ``sum_j weights[j] * max(kernel[i, j] - m_j, 0)``."""
    with single_thread():
        return _herding(kernel, taken, budget, weights)


def _herding(kernel: np.ndarray, taken: np.ndarray, budget: int, weights: np.ndarray | None) -> np.ndarray:
    m = kernel[taken].max(axis=0) if taken.any() else np.zeros(len(kernel), np.float32)
    w = np.ones(len(kernel), np.float32) if weights is None else np.asarray(weights, np.float32)
    gain = (np.clip(kernel - m, 0, None) @ w).astype(np.float64)
    free = ~taken
    picks = []
    for _ in range(budget):
        pick = int(np.flatnonzero(free)[np.argmax(gain[free])])
        picks.append(pick)
        free[pick] = False
        raised = np.flatnonzero(kernel[pick] > m)
        if raised.size:
            rows = kernel[raised]  # kernel[:, raised].T: the kernel is symmetric
            before = np.clip(rows - m[raised, None], 0, None)
            after = np.clip(rows - kernel[pick, raised, None], 0, None)
            gain -= (w[raised] @ (before - after)).astype(np.float64)
            m[raised] = kernel[pick, raised]
    return np.asarray(picks, dtype=np.int64)


class MaxHerding:
    """Greedy maximisation of Gaussian-kernel coverage, from the labeled set or from zero."""

    uses_labels = False
    iterative = True
    cold_start = True

    def __init__(self, h: KernelWidth = 1.0, subset_size: SubsetSize = MAX_CANDIDATES):
        self.h = h
        self.subset_size = subset_size

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        rows = candidates(pool, budget, rng, self.subset_size)
        pool.info.update(kernel_width=float(self.h), candidates=int(len(rows)))
        kernel = gaussian_kernel(np.asarray(pool.features[rows]), self.h)
        return rows[herding(kernel, np.isin(rows, pool.labeled), budget)]


@hookimpl
def lbal_register_samplers(register):
    register("maxherding", MaxHerding,
             description="greedy Gaussian-kernel coverage, cold start (Bae et al. 2024)")
