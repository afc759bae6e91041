"""``max_entropy``: uncertainty sampling with the Shannon entropy of a linear head.

The Max-Entropy baseline of Pourahmadi, Nooralinejad and Pirsiavash, "A Simple Baseline
for Low-Budget Active Learning" (arXiv, 2021), §4 (after Wang and Shang, "A new active
labeling method for deep learning", IJCNN 2014). Iterative: at each step a linear layer
is trained on the features of the points labeled so far, with the paper's settings
(cross-entropy, Adam lr 1e-3, 100 epochs, lr ×0.1 at epochs 50 and 75; batch size 128),
and the ``budget`` unlabeled points whose predicted class distribution has the highest
entropy are labeled next; ties go to the lower pool index.

Options: ``epochs=100``, ``lr=0.001``, ``milestones=[50, 75]``, ``batch_size=128``,
``standardise=True``.

Differences from the original code (UCDvision/low-budget-al, ``active_sampler.py`` and
``strategies.entropy``):

- The head is trained on the cached, un-augmented pool features instead of re-running
  the backbone on flipped, randomly cropped images every epoch, with batch size 128 (the
  original script's default was 256; on the paper's small CIFAR pools both are one batch
  per epoch).
- The original head sat on the raw backbone outputs (its ``Normalize`` layer is
  commented out); we only have the L2-normalised features, whose coordinates are about
  ``1/sqrt(D)``: with one Adam step per epoch at lr 1e-3, the logits stay close to their
  random initialisation on a tiny labeled set. With ``standardise`` (the default) each dimension is scaled by the
  mean and std of the labeled points first, as the linear evaluator does, which gives the
  head a working scale; ``standardise=False`` trains on the normalised features as they
  are.
- The original ranked by ``sum(p log p)`` ascending in float32; we compute the entropy
  from log-softmax in float64, block by block over the pool.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.training import fit_linear

BLOCK = 8192  # unlabeled points scored at a time: bounds memory on 1000-class pools


def entropy(logits: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats, float64) of the softmax of each row of ``logits``."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(np.exp(log_p) * log_p).sum(axis=1)


class MaxEntropySampler:
    """Label the unlabeled points a linear head trained on the labeled ones is least sure of."""

    uses_labels = False
    iterative = True

    def __init__(
        self,
        epochs: int = 100,
        lr: float = 0.001,
        milestones: Sequence[int] = (50, 75),
        batch_size: int = 128,
        standardise: bool = True,
    ):
        if epochs < 1 or batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")
        if not lr > 0:
            raise ValueError("lr must be positive")
        if any(m < 1 for m in milestones) or list(milestones) != sorted(milestones):
            raise ValueError("milestones must be increasing epoch numbers of at least 1")
        self.epochs = epochs
        self.lr = lr
        self.milestones = list(milestones)
        self.batch_size = batch_size
        self.standardise = standardise

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        if not len(pool.labeled):
            raise ValueError("max_entropy needs an initial labeled pool")
        head = fit_linear(
            np.asarray(pool.features[pool.labeled]), pool.oracle.labels(pool.labeled), pool.num_classes,
            seed=int(rng.integers(2**31 - 1)), epochs=self.epochs, lr=self.lr, milestones=self.milestones,
            batch_size=self.batch_size, standardise=self.standardise,
        )
        unlabeled = pool.unlabeled
        scores = np.concatenate([
            entropy(head.logits(pool.features[unlabeled[start:start + BLOCK]]))
            for start in range(0, len(unlabeled), BLOCK)
        ])
        return unlabeled[np.argsort(-scores, kind="stable")[:budget]]


@hookimpl
def lbal_register_samplers(register):
    register("max_entropy", MaxEntropySampler,
             description="highest-entropy points under a linear head trained on the labeled set")
