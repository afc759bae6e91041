"""``dcom``: DCoM, Dynamic Coverage & Margin mix.

Mishal and Weinshall, "DCoM: Active Learning for All Learners", arXiv:2407.01804, 2024
(reference code: avihu111/TypiClust, ``deep-al/pycls/al/DCoM.py`` and the delta update
in ``deep-al/tools/train_al.py``). ProbCover's greedy ball coverage with a radius per
labeled point and a score that moves from density to uncertainty as coverage grows:

1. Every labeled point ``l`` gets its own radius ``Δ_l``: the largest ball around it
   (binary search on ``[0, max_delta]`` to ``delta_resolution``, rounded to 2 decimals)
   whose points carry ``l``'s label in at least a share ``0.2 · coverage + 0.4`` of them,
   under the pseudo-labels of a classifier trained on the labeled set.
2. Coverage = the share of the pool within ``Δ_l`` of some labeled ``l``; the
   competence ``c = (1 + e^{-k(1 - a)}) / (1 + e^{-k(coverage - a)})`` (rounded to 3
   decimals; ``k = k_logistic``, ``a = a_logistic``) is near 0 at low coverage, 1 at full.
3. Greedy, ``budget`` times: with the ball graph of radius ``Δ_avg`` (the mean ``Δ_l``)
   and the covered points removed, the density of a point is the number of uncovered
   points in its ball; the pick maximises ``c · margin + (1 - c) · density``, both
   min-max normalised over the pool, where ``margin`` is the min-max normalised
   ``1 - (p1 - p2)`` of the classifier (0 for labeled and picked points); its ball's
   points become covered.

Iterative and cold-start: with nothing labeled every radius is ``initial_delta``, the
coverage is 0 and so ``c ≈ 0`` (about 4e-18): the step is ProbCover with
``δ = initial_delta``, which is what the reference does at ``len(lSet) == 0``.

Defaults follow the reference code: ``initial_delta=0.6`` (``--initial_delta``),
``max_delta=1.1`` (``MAX_DELTA``), ``delta_resolution=0.05``, ``k_logistic=50``,
``a_logistic=0.8``. The classifier is the linear head ``max_entropy`` trains (options
``epochs=100``, ``lr=0.001``, ``milestones=[50, 75]``, ``batch_size=128``,
``standardise=True``). ``pool.info`` records ``delta_avg``, ``coverage`` and
``competence``.

Where we differ from the reference code:

- The reference keeps each labeled point's ``Δ`` from the round it was labeled in (new
  points start at the previous mean and are searched once, after the next training);
  a sampler here keeps no state between steps, so every ``Δ_l`` is searched afresh with
  the current classifier, and the purity threshold's coverage is that of balls of
  ``initial_delta`` around the labeled points.
- The classifier is a linear head on the frozen features (the reference trains the
  network on images).
- Ties go to the lowest pool index among unlabeled points (the reference's reversed
  ``argsort`` takes the highest, and may return an already-labeled point when every
  score is 0); when no uncovered point is left, density is 0 everywhere and the picks
  follow the margin term, then the pool order.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import scipy.sparse as sp
from annotated_types import Gt, Interval

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import sqdist_blocks
from lbal_bench.kit.neighbours import ball_graph, close_pairs

from ._uncertainty import BatchSize, Epochs, HeadOptions, LearningRate, Milestones, margin_uncertainty, scores_of


def min_max(values: np.ndarray) -> np.ndarray:
    """``(v - min) / (max - min)``, all zeros when every value is equal (scikit-learn's
    ``MinMaxScaler``)."""
    values = np.asarray(values, dtype=np.float64)
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def competence(coverage: float, k: float, a: float) -> float:
    """The logistic weight of the margin term, 1 at full coverage (rounded as the reference)."""
    return round(float((1 + np.exp(-k * (1 - a))) / (1 + np.exp(-k * (coverage - a)))), 3)


def ball_radii(distances: np.ndarray, centre_labels: np.ndarray, pseudo: np.ndarray, threshold: float,
               max_delta: float, resolution: float) -> np.ndarray:
    """Per centre (row of ``distances``), the binary-searched radius of the reference:
    the largest ball whose points share the centre's label at least ``threshold`` of the
    time, rounded to 2 decimals."""
    same = pseudo[None, :] == centre_labels[:, None]
    radii = np.empty(len(distances))
    for row, (dist, agree) in enumerate(zip(distances, same)):
        low, high = 0.0, max_delta
        mid = last_delta = (low + high) / 2
        last_purity = 0.0
        while abs(low - high) > resolution:
            inside = dist < mid
            purity = agree[inside].mean() if inside.any() else 0.0
            if last_delta < mid and last_purity == threshold and purity < threshold:
                mid = last_delta
                break
            if purity < threshold:
                high = mid
            else:
                low = mid
            last_purity, last_delta = purity, mid
            mid = (low + high) / 2
        radii[row] = round(mid, 2)
    return radii


class DCoM(HeadOptions):
    """Per-point radii from classifier purity; density early, margin once coverage is high."""

    sampler_name = "dcom"
    uses_labels = False
    iterative = True
    cold_start = True

    def __init__(self, initial_delta: Annotated[float, Gt(0)] = 0.6, max_delta: Annotated[float, Gt(0)] = 1.1,
                 delta_resolution: Annotated[float, Gt(0)] = 0.05, k_logistic: Annotated[float, Gt(0)] = 50,
                 a_logistic: Annotated[float, Interval(ge=0, le=1)] = 0.8, epochs: Epochs = 100,
                 lr: LearningRate = 0.001, milestones: Milestones = (50, 75), batch_size: BatchSize = 128,
                 standardise: bool = True):
        super().__init__(epochs, lr, milestones, batch_size, standardise)
        if initial_delta > max_delta:
            raise ValueError(f"initial_delta must be at most max_delta ({max_delta}), got {initial_delta}")
        if delta_resolution >= max_delta:
            raise ValueError(f"delta_resolution must be below max_delta ({max_delta}), got {delta_resolution}")
        self.initial_delta = initial_delta
        self.max_delta = max_delta
        self.delta_resolution = delta_resolution
        self.k_logistic = k_logistic
        self.a_logistic = a_logistic

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        features = np.asarray(pool.features)
        n, labeled = len(features), pool.labeled
        margin = np.zeros(n)
        covered = np.zeros(n, dtype=bool)
        delta_avg = float(self.initial_delta)
        if len(labeled):
            head = self.train_head(pool, rng)
            everything = np.arange(n)
            margin = min_max(scores_of(head, features, everything, margin_uncertainty))
            margin[labeled] = 0.0
            pseudo = scores_of(head, features, everything, lambda z: np.argmax(z, axis=1))
            distances = np.sqrt(np.concatenate([d2.cpu().numpy() for _, d2 in sqdist_blocks(features[labeled], features)]))
            threshold = 0.2 * (distances < self.initial_delta).any(axis=0).mean() + 0.4
            radii = ball_radii(distances, pool.oracle.labels(labeled), pseudo, threshold,
                               self.max_delta, self.delta_resolution)
            covered = (distances < radii[:, None]).any(axis=0)
            delta_avg = float(radii.mean())
        weight = competence(covered.mean(), self.k_logistic, self.a_logistic)
        pool.info.update(delta_avg=delta_avg, coverage=float(covered.mean()), competence=weight)

        pairs = close_pairs(features, delta_avg)
        indptr, indices = ball_graph(n, pairs.i, pairs.j)
        graph = sp.csr_matrix((np.ones(len(indices), np.int64), indices, indptr), shape=(n, n))
        density = graph @ (~covered).astype(np.int64)
        free = np.ones(n, dtype=bool)
        free[labeled] = False
        density[labeled] = 0  # the reference deletes every edge from a labeled point
        chosen = []
        for _ in range(budget):
            score = weight * min_max(margin) + (1 - weight) * min_max(density)
            pick = int(np.flatnonzero(free)[np.argmax(score[free])])
            newly = graph.indices[graph.indptr[pick]:graph.indptr[pick + 1]]
            newly = newly[~covered[newly]]
            covered[newly] = True
            density -= np.asarray(graph[newly].sum(axis=0)).ravel().astype(np.int64)
            density[~free] = 0
            free[pick] = False
            margin[pick] = 0.0
            density[pick] = 0
            chosen.append(pick)
        return np.asarray(chosen, dtype=np.int64)


@hookimpl
def lbal_register_samplers(register):
    register("dcom", DCoM,
             description="per-point ball radii, density to margin as coverage grows (Mishal & Weinshall 2024)")
