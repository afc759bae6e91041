"""``badge``: BADGE, k-means++ seeding on the gradient embeddings of a linear head.

Ash, Zhang, Krishnamurthy, Langford and Agarwal, "Deep Batch Active Learning by Diverse,
Uncertain Gradient Lower Bounds", ICLR 2020 (reference code: JordanAsh/badge,
``query_strategies/badge_sampling.py``). Iterative: a linear head is trained on the
labeled points; each unlabeled point ``x`` gets the gradient of the cross-entropy at its
predicted label ``ŷ`` with respect to the head's weights,

    g(x) = (onehot(ŷ) - p(x)) ⊗ h(x)        (C × D, where h is the head's input)

and ``budget`` of them are chosen by k-means++ seeding on these embeddings: the first is
the one with the largest ``|g|``, each next one is drawn with probability proportional
to its squared distance to the nearest one chosen so far. Large gradients are uncertain
points, the D² sampling makes the batch diverse. It needs labels: an empty labeled set is
refused (``badge needs an initial labeled pool``).

Distances are computed without forming the ``C × D`` embeddings, as the reference does
(its speed-up after Zhang et al.):
``|g_i - g_j|² = |a_i|²|h_i|² + |a_j|²|h_j|² - 2 (a_i · a_j)(h_i · h_j)`` with
``a = onehot(ŷ) - p``.

Options (the head, shared with ``max_entropy``): ``epochs=100``, ``lr=0.001``,
``milestones=[50, 75]``, ``batch_size=128``, ``standardise=True``. ``h`` is what the head
reads: the features standardised on the labeled set (or as they are with
``standardise=False``).

Where we differ from the reference code:

- The reference retrains the whole network and embeds with its penultimate layer; here
  the network is a linear head on the frozen features, so the penultimate layer is the
  (standardised) features themselves.
- The draws come from the cell's generator (``rng.choice``), not scipy's global
  ``rv_discrete``; when every remaining point is at distance 0 of the chosen ones
  (duplicate rows), the rest is drawn uniformly among the points not chosen, where the
  reference loops forever.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl

from ._uncertainty import HeadOptions, log_softmax


def gradient_factors(logits: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, h)`` with ``g = a ⊗ h``: ``a = onehot(argmax) - softmax`` and the head's input."""
    a = -np.exp(log_softmax(logits))
    a[np.arange(len(a)), np.argmax(logits, axis=1)] += 1.0
    return a, np.asarray(inputs, dtype=np.float64)


def kmeanspp_on_products(a: np.ndarray, h: np.ndarray, budget: int, rng: np.random.Generator) -> np.ndarray:
    """Rows picked by k-means++ seeding on the embeddings ``a_i ⊗ h_i`` (first: largest norm)."""
    a_sq, h_sq = (a * a).sum(1), (h * h).sum(1)
    norms = a_sq * h_sq
    chosen = [int(np.argmax(norms))]
    dist2 = np.full(len(a), np.inf)
    for _ in range(budget - 1):
        last = chosen[-1]
        d2 = norms + norms[last] - 2.0 * (a @ a[last]) * (h @ h[last])
        dist2 = np.minimum(dist2, np.clip(d2, 0.0, None))
        dist2[chosen] = 0.0
        total = dist2.sum()
        if total > 0:
            pick = int(rng.choice(len(a), p=dist2 / total))
        else:  # every point left coincides with a chosen one
            free = np.setdiff1d(np.arange(len(a)), chosen)
            pick = int(free[rng.integers(len(free))])
        chosen.append(pick)
    return np.asarray(chosen, dtype=np.int64)


class BadgeSampler(HeadOptions):
    """k-means++ seeding on the last-layer gradient embeddings of the unlabeled points."""

    sampler_name = "badge"
    uses_labels = False
    iterative = True

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        head = self.train_head(pool, rng)
        unlabeled = pool.unlabeled
        inputs = (np.asarray(pool.features[unlabeled]) - head.mean) / head.std
        a, h = gradient_factors(head.logits(pool.features[unlabeled]), inputs)
        return unlabeled[kmeanspp_on_products(a, h, budget, rng)]


@hookimpl
def lbal_register_samplers(register):
    register("badge", BadgeSampler,
             description="k-means++ on last-layer gradient embeddings of a linear head (Ash et al. 2020)")
