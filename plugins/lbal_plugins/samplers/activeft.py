"""``activeft``: ActiveFT, centroids optimised to match the pool's distribution, then
the pool point nearest each.

Xie, Lu, Wang, Lin, Lin, Zhao and Fang, "Active Finetuning: Exploiting Annotation Budget
in the Pretraining-Finetuning Paradigm", CVPR 2023 (reference code: yichen928/ActiveFT,
``data_selection/sample_tools/ActiveFT_CIFAR.py``; the iterative form is BorealisAI/uherding's
``deep-al/pycls/al/active_ft.py``). ``budget`` continuous centroids ``c_k`` (unit
vectors) start at random unlabeled points and are optimised with Adam to

    minimise  -mean_i [ s_i - log(exp(s_i) + balance * sum_j exp(c_j · c_k(i) / τ)) ]
    s_i = max_k x_i · c_k / τ,   k(i) = that nearest centroid

which pulls each centroid towards the points it is nearest to (matching the pool's
distribution) while pushing centroids apart (diversity; the inner sum treats the other
centroids as constants, as the code's ``detach``). Then each centroid, in order, takes
the most similar unlabeled point not yet taken (cosine similarity, i.e. inner product
of L2-normalised vectors).

Iterative and cold-start: the paper selects once from zero labels; with labeled points
they are extra centroids held fixed at their features (the uherding repository's
extension, which resets them after every step), so new centroids are pushed away from
them. The points ``x_i`` are the unlabeled ones (the whole pool at zero labels, as in
the paper).

Defaults follow the reference script: ``temperature=0.07``, ``iterations=300``,
``lr=0.001``, ``balance=1.0``, random initial centroids (``init=random``), no
learning-rate schedule, full batch. ``subset_size=100000``: a larger pool is cut to a
random subset of that many unlabeled points (the centroids' data and the candidates), as
the uherding repository's ActiveFT does (which also runs 100 iterations on ImageNet;
set ``iterations``); the CIFAR pools (50,000) are used whole.

Where we differ from the reference code:

- The loss is computed in log space (``logaddexp``/``logsumexp``) instead of
  exponentiating similarities divided by 0.07 (up to ``e^14``) in float32: the same
  loss, without overflow for features that are not exactly unit length.
- The initial centroids are drawn from the cell's generator; the reference uses Python's
  global ``random``. Its ``fps`` (farthest-point) initialisation and its ImageNet
  variant's feature sub-sampling per iteration are not offered.
- The gradient of the loss and torch's Adam update (default betas and eps) are written
  out instead of autograd and an optimizer object (``loss_and_gradient``; the test
  checks it against autograd): 300 steps take about 0.2-0.5 s on one CPU core for the
  digits pool instead of 1.2 s. They run on one CPU thread (``_threads``): on a busy
  2-core machine 2 threads took 63 s where one took 0.6 s (2,000 points, budget 50).
  Labeled centroids are constants instead of parameters reset after each step (the
  same trajectory).
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from annotated_types import Ge, Gt

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import torch_device

from ._threads import single_thread

SUBSET_SIZE = 100_000  # unlabeled points the centroids see: the uherding repository's subset


def loss_and_gradient(points, fixed, params, temperature: float, balance: float):
    """The ActiveFT loss and its gradient with respect to the unnormalised centroids
    ``params`` (torch), written out: the centroids are ``[fixed; params / |params|]``."""
    import torch

    norms = params.norm(dim=1, keepdim=True)
    unit = params / norms
    every = torch.cat([fixed, unit])
    positive, nearest = (points @ every.T / temperature).max(dim=1)
    logits = every @ every.T / temperature  # [j, k]: centroid j seen from centroid k
    spread = torch.logsumexp(logits, dim=0)
    shifted = spread[nearest] + math.log(balance)
    loss = -(positive - torch.logaddexp(positive, shifted)).mean()
    # d loss / d positive_i = -w_i and d loss / d spread_k(i) = +w_i, w_i = (1 - r_i) / N
    weight = torch.sigmoid(shifted - positive) / len(points)
    pulled = torch.zeros_like(every).index_add_(0, nearest, points * weight[:, None])
    total = torch.zeros(len(every), dtype=points.dtype, device=points.device).index_add_(0, nearest, weight)
    pushed = torch.softmax(logits, dim=0).T @ every * total[:, None]  # through the column centroid only
    grad_unit = ((pushed - pulled) / temperature)[len(fixed):]
    grad = (grad_unit - unit * (unit * grad_unit).sum(dim=1, keepdim=True)) / norms
    return loss, grad


def optimise_centroids(points, fixed, start, temperature: float, iterations: int, lr: float, balance: float):
    """Unit centroids (torch ``[len(start), D]``) after ``iterations`` Adam steps (torch's
    update, default betas and eps) on the ActiveFT loss over ``points``, with the
    centroids ``fixed`` held constant."""
    with single_thread():
        return _adam(points, fixed, start, temperature, iterations, lr, balance)


def _adam(points, fixed, start, temperature: float, iterations: int, lr: float, balance: float):
    import torch

    params = start.clone()
    first, second = torch.zeros_like(params), torch.zeros_like(params)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, iterations + 1):
        _, grad = loss_and_gradient(points, fixed, params, temperature, balance)
        first.lerp_(grad, 1 - beta1)
        second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = second.sqrt().div_(math.sqrt(1 - beta2**step)).add_(eps)
        params.addcdiv_(first, denom, value=-lr / (1 - beta1**step))
    return params / params.norm(dim=1, keepdim=True)


def nearest_free(centroids: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each centroid in order, the most similar row of ``points`` not taken before."""
    similarity = centroids @ points.T
    chosen = np.empty(len(centroids), dtype=np.int64)
    for k, row in enumerate(similarity):
        row[chosen[:k]] = -np.inf
        chosen[k] = int(np.argmax(row))
    return chosen


class ActiveFT:
    """Distribution-matching, diverse centroids (ActiveFT), then the point nearest each."""

    uses_labels = False
    iterative = True
    cold_start = True

    def __init__(self, temperature: Annotated[float, Gt(0)] = 0.07, iterations: Annotated[int, Ge(0)] = 300,
                 lr: Annotated[float, Gt(0)] = 0.001, balance: Annotated[float, Gt(0)] = 1.0,
                 subset_size: Annotated[int, Ge(1)] = SUBSET_SIZE):
        self.temperature = temperature
        self.iterations = iterations
        self.lr = lr
        self.balance = balance
        self.subset_size = subset_size

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        import torch

        device = torch_device()
        unlabeled = pool.unlabeled
        if len(unlabeled) > max(self.subset_size, budget):
            unlabeled = np.sort(rng.choice(unlabeled, max(self.subset_size, budget), replace=False))
        points = np.ascontiguousarray(pool.features[unlabeled], dtype=np.float32)
        start = rng.choice(len(unlabeled), budget, replace=False)
        as_tensor = lambda x: torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32), device=device)
        tensor = as_tensor(points)
        centroids = optimise_centroids(
            tensor, as_tensor(pool.features[pool.labeled]).reshape(len(pool.labeled), points.shape[1]), tensor[start],
            self.temperature, self.iterations, self.lr, self.balance,
        )
        return unlabeled[nearest_free(centroids.cpu().numpy(), points)]


@hookimpl
def lbal_register_samplers(register):
    register("activeft", ActiveFT,
             description="distribution-matching diverse centroids, nearest points (Xie et al. 2023)")
