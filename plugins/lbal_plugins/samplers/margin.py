"""``margin``: margin sampling, the smallest gap between the two most probable classes.

Scheffer, Decomain and Wrobel, "Active Hidden Markov Models for Information Extraction"
(IDA 2001); the margin baseline of Ash et al., "Deep Batch Active Learning by Diverse,
Uncertain Gradient Lower Bounds" (BADGE, ICLR 2020), whose code is the reference here
(JordanAsh/badge, ``query_strategies/margin_sampling.py``). Iterative: a linear head is
trained on the labeled points and the ``budget`` unlabeled points with the smallest
``p1 - p2`` (the two largest softmax probabilities) are labeled next; ties go to the
lower pool index. It needs labels: an empty labeled set is refused
(``margin needs an initial labeled pool``).

Options (the head, shared with ``max_entropy``): ``epochs=100``, ``lr=0.001``,
``milestones=[50, 75]``, ``batch_size=128``, ``standardise=True``.

Where we differ from the reference code:

- The reference retrains the whole network on images; here the classifier is a linear
  head on the frozen features with the paper's Max-Entropy settings, so that the
  uncertainty baselines differ only in their score.
- The reference sorts ``p1 - p2`` in float32 with torch's unstable sort; we compute it
  from log-softmax in float64 and break ties by pool index.
"""

from __future__ import annotations

from lbal_bench import hookimpl

from ._uncertainty import UncertaintySampler, margin_uncertainty


class MarginSampler(UncertaintySampler):
    """Label the unlabeled points whose two most probable classes are closest."""

    sampler_name = "margin"
    score = staticmethod(margin_uncertainty)


@hookimpl
def lbal_register_samplers(register):
    register("margin", MarginSampler,
             description="smallest top-two probability gap under a linear head on the labeled set")
