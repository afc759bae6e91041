"""``max_entropy``: uncertainty sampling with the Shannon entropy of a linear head.

The Max-Entropy baseline of Pourahmadi, Nooralinejad and Pirsiavash, "A Simple Baseline
for Low-Budget Active Learning" (arXiv, 2021), §4 (after Wang and Shang, "A new active
labeling method for deep learning", IJCNN 2014). Iterative: at each step a linear layer
is trained on the features of the points labeled so far, with the paper's settings
(cross-entropy, Adam lr 1e-3, 100 epochs, lr ×0.1 at epochs 50 and 75; batch size 128),
and the ``budget`` unlabeled points whose predicted class distribution has the highest
entropy are labeled next; ties go to the lower pool index. An empty labeled set is
refused (``max_entropy needs an initial labeled pool``): there is no head to consult.

Options: ``epochs=100``, ``lr=0.001``, ``milestones=[50, 75]``, ``batch_size=128``,
``standardise=True``. The head is the one ``margin``, ``least_confidence``, ``badge``,
``uherding`` and ``dcom`` train too (``_uncertainty.HeadOptions``).

``standardise`` (issue 18, item 3): whether each feature dimension is scaled by the mean
and std of the labeled points before the head.

- The paper's text gives the head's optimiser and schedule but states no input
  normalisation for it (the per-dimension mean/std normalisation it states is for the
  linear *evaluation*).
- The released code (UCDvision/low-budget-al, ``active_sampler.py``) trains the head on
  the raw backbone outputs: its ``Normalize`` layer is commented out.
- We only have the L2-normalised features, whose coordinates are about ``1/sqrt(D)``;
  with lr 1e-3 and one Adam step per epoch on a tiny labeled set the logits stay close
  to their random initialisation, so entropy ranks almost at random. Standardising gives
  the head the working scale the raw outputs gave the original, with the normalisation
  the paper states for its other linear head. Hence ``standardise=True`` is the default;
  ``standardise=False`` trains on the L2-normalised features as they are (the nearest we
  get to the released code's raw-feature head). On digits (pixels, random pool of 10,
  3 seeds) the two are within one std of each other at 20-100 labels (1-NN
  54.9/70.5/78.5 standardised, 53.6/70.6/81.6 not; benchmarks/RESULTS.md, "Reference
  samplers"); the audit of issue 18 measured ±4-5 points on CompRess features.

Other differences from the original code (``strategies.entropy``):

- The head is trained on the cached, un-augmented pool features instead of re-running
  the backbone on flipped, randomly cropped images every epoch, with batch size 128 (the
  original script's default was 256; on the paper's small CIFAR pools both are one batch
  per epoch).
- The original ranked by ``sum(p log p)`` ascending in float32; we compute the entropy
  from log-softmax in float64, block by block over the pool.
"""

from __future__ import annotations

from lbal_bench import hookimpl

from ._uncertainty import UncertaintySampler, entropy

__all__ = ["MaxEntropySampler", "entropy"]


class MaxEntropySampler(UncertaintySampler):
    """Label the unlabeled points a linear head trained on the labeled ones is least sure of."""

    sampler_name = "max_entropy"
    score = staticmethod(entropy)


@hookimpl
def lbal_register_samplers(register):
    register("max_entropy", MaxEntropySampler,
             description="highest-entropy points under a linear head trained on the labeled set")
