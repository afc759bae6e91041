"""``usl``: Unsupervised Selective Labeling, dense points of k = budget clusters, spread out.

Wang, Lian and Yu, "Unsupervised Selective Labeling for More Effective Semi-Supervised
Learning", ECCV 2022 (reference code: TonyLianLong/UnsupervisedSelectiveLabeling,
``selective_labeling/usl-cifar.py`` and ``shared/utils/nn_utils*.py``).

Single-batch protocol, restricted to the unlabeled points:

1. Density of every point: ``1 / mean squared L2 distance to its knn nearest pool
   points``, the point itself counted as the first (at distance 0), as the code does.
2. K-means with k = budget on the unlabeled points (``niter`` Lloyd iterations, one
   random start, as the code; the shared ``lbal_bench.kit.compute.KMeansOptions``, with
   ``init="random", nredo=1, niter=200`` as USL's defaults).
3. Regularised selection, ``iters`` rounds: each round picks in every cluster the point
   maximising ``density - lam * reg`` (ties: smallest index), then updates, for every
   point x, ``reg = momentum * reg + (1 - momentum) * sum_s d2(x, s) ** -alpha`` over the
   picks s of *other* clusters closer than ``d2 < horizon`` (d2 = squared L2 distance).
   The first round has ``reg = 0`` (plain densest point per cluster); the picks of the
   last round are the answer.

Defaults are the code's (``config.py``, the CIFAR-10 setting): ``knn=400``,
``niter=200``, ``iters=10``, ``lam=0.5`` (the code's ``W``), ``momentum=0.9``,
``alpha=0.5`` (so the penalty is ``1 / distance``), ``horizon=4`` (on unit vectors every
squared distance is at most 4, so nothing is cut). The code's CIFAR-100 config uses
``lam=1, alpha=1, horizon=1``; its ImageNet configs ``knn=20, niter=100, iters=2,
lam=1.5, momentum=0`` with a different regulariser (the 128 nearest picks, own cluster
included), which we do not implement. ``knn=400`` suits pools of CIFAR's size (50k); on
small pools it smooths the density over much of the pool, so consider ``knn=20`` there.

Where we differ from the code:

- faiss K-means, and exact faiss k-NN instead of KeOps; the density has ``+ 1e-5`` in
  the denominator (TypiClust's guard) so duplicated rows do not divide by zero.
- Penalties of same-cluster or beyond-horizon picks are exactly 0 (the code added
  ``1e10 ** -alpha``, a negligible constant).
- Exactly ``budget`` points: K-means can leave clusters empty (e.g. on duplicated rows),
  where the code would return fewer picks (it asked for one extra centroid at 2500
  labels). The missing picks are the best-scoring remaining points of the last round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from annotated_types import Ge, Gt, Interval

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import KMeansOptions, mean_knn_sqdist, sqdist_blocks, torch_device


def _best_per_cluster(scores: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Index of the highest score in each non-empty cluster (ties: smallest index), by cluster id."""
    order = np.lexsort((np.arange(len(scores)), -scores, clusters))
    _, first = np.unique(clusters[order], return_index=True)
    return order[first]


def penalty(x: np.ndarray, clusters: np.ndarray, picks: np.ndarray, alpha: float, horizon: float) -> np.ndarray:
    """USL's regulariser for every point: ``sum_s d2(x, s) ** -alpha`` over the picks ``s``
    of other clusters with squared distance ``d2 < horizon``."""
    import torch

    own = torch.as_tensor(clusters, device=torch_device())
    theirs = own[torch.as_tensor(picks, device=own.device)]
    out = np.empty(len(x), dtype=np.float64)
    for start, d2 in sqdist_blocks(x, x[picks]):
        ignored = (own[start:start + len(d2), None] == theirs[None, :]) | (d2 >= horizon)
        terms = d2.clamp_(min=1e-12).pow_(-alpha).masked_fill_(ignored, 0)
        out[start:start + len(d2)] = terms.sum(dim=1).cpu().numpy()
    return out


@dataclass(frozen=True)
class USL(KMeansOptions):
    """Densest point of each of k = budget clusters, pushed away from other clusters' picks."""

    uses_labels = False
    iterative = False

    init: str = "random"
    nredo: Annotated[int, Ge(1)] = 1
    niter: Annotated[int, Ge(1)] = 200
    knn: Annotated[int, Ge(1)] = 400
    lam: Annotated[float, Ge(0)] = 0.5
    alpha: Annotated[float, Gt(0)] = 0.5
    momentum: Annotated[float, Interval(ge=0, lt=1)] = 0.9
    iters: Annotated[int, Ge(1)] = 10
    horizon: Annotated[float, Gt(0)] = 4.0

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        features = np.asarray(pool.features)
        unlabeled = pool.unlabeled
        x = features[unlabeled]
        density = 1 / (mean_knn_sqdist(features, min(self.knn, len(features)), include_self=True)[unlabeled] + 1e-5)
        clusters = self.cluster_labels(x, budget, seed=int(rng.integers(2**31 - 1)))
        reg = np.zeros(len(x))
        for step in range(self.iters):
            scores = density - self.lam * reg
            picks = _best_per_cluster(scores, clusters)
            if self.lam and step + 1 < self.iters:
                reg = self.momentum * reg + (1 - self.momentum) * penalty(x, clusters, picks, self.alpha, self.horizon)
        rest = np.setdiff1d(np.arange(len(x)), picks)
        rest = rest[np.argsort(-scores[rest], kind="stable")[:budget - len(picks)]]
        return unlabeled[np.concatenate([picks, rest])]


@hookimpl
def lbal_register_samplers(register):
    register("usl", USL, description="densest point per k = budget cluster, spread by a regulariser (Wang et al. 2022)")
