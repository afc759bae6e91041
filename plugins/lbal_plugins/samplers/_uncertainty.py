"""What the samplers that consult a classifier share: a linear head trained on the labeled
points (``lbal_bench.kit.training.fit_linear``) and the uncertainty scores of its softmax.

``max_entropy``, ``margin``, ``least_confidence``, ``badge``, ``uherding`` and ``dcom``
train their head here, with the options of :class:`HeadOptions` (the paper's Max-Entropy
head: Adam lr 1e-3, 100 epochs, lr ×0.1 at epochs 50 and 75, batch 128, features
standardised on the labeled set), so one change reaches all of them.
"""

from __future__ import annotations

from typing import Annotated, Sequence

import numpy as np
from annotated_types import Ge, Gt

from lbal_bench import Pool
from lbal_bench.kit.training import LinearHead, fit_linear

BLOCK = 8192  # points scored at a time: bounds memory on 1000-class pools

# The head's option types, range included: a sampler with options of its own (uherding,
# dcom) repeats the head's parameters in its signature with these.
Epochs = Annotated[int, Ge(1)]
LearningRate = Annotated[float, Gt(0)]
Milestones = Sequence[int]
BatchSize = Annotated[int, Ge(1)]


class HeadOptions:
    """The options of the linear head a sampler trains on the labeled set.

    A sampler subclasses it, calls ``super().__init__(epochs, lr, milestones, batch_size,
    standardise)`` and ``self.train_head(pool, rng)``; ``sampler_name`` is the sampler's name in
    the error raised when nothing is labeled.
    """

    sampler_name = "sampler"

    def __init__(self, epochs: Epochs = 100, lr: LearningRate = 0.001, milestones: Milestones = (50, 75),
                 batch_size: BatchSize = 128, standardise: bool = True):
        # an order within the list, which an annotation cannot declare
        if any(m < 1 for m in milestones) or list(milestones) != sorted(milestones):
            raise ValueError("milestones must be increasing epoch numbers of at least 1")
        self.epochs = epochs
        self.lr = lr
        self.milestones = list(milestones)
        self.batch_size = batch_size
        self.standardise = standardise

    def require_labels(self, pool: Pool) -> None:
        """Refuse a pool with nothing labeled: there is no classifier to consult."""
        if not len(pool.labeled):
            raise ValueError(f"{self.sampler_name} needs an initial labeled pool")

    def train_head(self, pool: Pool, rng: np.random.Generator, indices: np.ndarray | None = None) -> LinearHead:
        """A linear head trained on ``pool.labeled`` (or the labeled ``indices``), seeded from ``rng``."""
        self.require_labels(pool)
        indices = pool.labeled if indices is None else indices
        return fit_linear(
            np.asarray(pool.features[indices]), pool.oracle.labels(indices), pool.num_classes,
            seed=int(rng.integers(2**31 - 1)), epochs=self.epochs, lr=self.lr, milestones=self.milestones,
            batch_size=self.batch_size, standardise=self.standardise,
        )


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def entropy(logits: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats, float64) of the softmax of each row of ``logits``."""
    log_p = log_softmax(logits)
    return -(np.exp(log_p) * log_p).sum(axis=1)


def top_two(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The largest and second-largest softmax probability of each row (float64)."""
    p = np.exp(log_softmax(logits))
    if p.shape[1] == 1:
        return p[:, 0], np.zeros(len(p))
    part = -np.partition(-p, 1, axis=1)
    return part[:, 0], part[:, 1]


def margin_uncertainty(logits: np.ndarray) -> np.ndarray:
    """``1 - (p1 - p2)``: one minus the gap between the two most probable classes."""
    first, second = top_two(logits)
    return 1.0 - (first - second)


def least_confidence(logits: np.ndarray) -> np.ndarray:
    """``1 - p1``: one minus the probability of the predicted class."""
    return 1.0 - top_two(logits)[0]


def scores_of(head: LinearHead, features: np.ndarray, indices: np.ndarray, score) -> np.ndarray:
    """``score(logits)`` of the points ``indices``, block by block over the pool."""
    return np.concatenate([
        score(head.logits(features[indices[start:start + BLOCK]])) for start in range(0, len(indices), BLOCK)
    ]) if len(indices) else np.empty(0)


def most_uncertain(pool: Pool, head: LinearHead, budget: int, score) -> np.ndarray:
    """The ``budget`` unlabeled points with the highest ``score(logits)``; ties go to the
    lower pool index."""
    unlabeled = pool.unlabeled
    scores = scores_of(head, pool.features, unlabeled, score)
    return unlabeled[np.argsort(-scores, kind="stable")[:budget]]


class UncertaintySampler(HeadOptions):
    """Label the unlabeled points with the highest ``score`` under a head trained on the
    labeled ones (``score`` maps logits ``[N, C]`` to ``[N]``, higher = less sure)."""

    uses_labels = False
    iterative = True

    @staticmethod
    def score(logits: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        return most_uncertain(pool, self.train_head(pool, rng), budget, self.score)
