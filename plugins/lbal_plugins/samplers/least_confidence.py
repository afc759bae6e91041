"""``least_confidence``: the points whose predicted class is least probable.

Lewis and Gale, "A Sequential Algorithm for Training Text Classifiers" (SIGIR 1994);
the least-confidence baseline of Ash et al., "Deep Batch Active Learning by Diverse,
Uncertain Gradient Lower Bounds" (BADGE, ICLR 2020), whose code is the reference here
(JordanAsh/badge, ``query_strategies/least_confidence.py``). Iterative: a linear head is
trained on the labeled points and the ``budget`` unlabeled points with the smallest
largest softmax probability ``p1`` are labeled next; ties go to the lower pool index. It
needs labels: an empty labeled set is refused
(``least_confidence needs an initial labeled pool``).

Options (the head, shared with ``max_entropy``): ``epochs=100``, ``lr=0.001``,
``milestones=[50, 75]``, ``batch_size=128``, ``standardise=True``.

Where we differ from the reference code:

- The reference retrains the whole network on images; here the classifier is a linear
  head on the frozen features with the paper's Max-Entropy settings.
- The reference sorts ``p1`` in float32 with torch's unstable sort; we compute it from
  log-softmax in float64 and break ties by pool index.
"""

from __future__ import annotations

from lbal_bench import hookimpl

from ._uncertainty import UncertaintySampler, least_confidence


class LeastConfidenceSampler(UncertaintySampler):
    """Label the unlabeled points whose predicted class has the lowest probability."""

    sampler_name = "least_confidence"
    score = staticmethod(least_confidence)


@hookimpl
def lbal_register_samplers(register):
    register("least_confidence", LeastConfidenceSampler,
             description="lowest top-class probability under a linear head on the labeled set")
