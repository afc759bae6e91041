"""``uherding``: Uncertainty Herding, kernel coverage of the points the model is unsure of.

Bae, Sutherland and Oliveira, "Uncertainty Herding: One Active Learning Method for All
Label Budgets", ICLR 2025 (reference code: BorealisAI/uherding,
``deep-al/pycls/al/uherding.py``). MaxHerding's greedy (``maxherding``) with every point
of the coverage weighted by the classifier's uncertainty about it::

    gain(i) = sum_j U_j * max(k(x_i, x_j) - m_j, 0),    U_j = 1 - (p1(x_j) - p2(x_j))

(margin uncertainty of the temperature-scaled softmax; ``U = 0`` on labeled points).
Iterative and cold-start: with nothing labeled there is no classifier and ``U = 1``
everywhere, so the first step is exactly MaxHerding, as in the reference (``Init lSet = 0
so init uncertainty with ones``); with few labels the weights are nearly flat and it
behaves like MaxHerding, with many like margin sampling.

Defaults follow the reference's recommended run (README: ``run_budget.sh -a
uherding_margin -s true -p true``):

- ``temperature_scaling=True`` (``-s``): a second head is trained on 70% of the labeled
  points and the temperature ``T`` in ``1.0, 1.1, …, 19.9`` with the lowest expected
  calibration error on the other 30% (one bin per class, the reference's ``ECELoss``)
  divides the logits; ``T = 1`` with fewer than 4 labeled points;
- ``adaptive_h=True`` (``-p``): the kernel width is the smallest distance between two
  distinct labeled points (``h`` with fewer than two);
- ``h=1.0`` (the scripts' ``delta``), the Gaussian kernel, and MaxHerding's candidate
  subset (``subset_size=35000``).

The classifier is the linear head ``max_entropy`` trains (options ``epochs=100``,
``lr=0.001``, ``milestones=[50, 75]``, ``batch_size=128``, ``standardise=True``).
``pool.info`` records ``kernel_width``, ``temperature`` and ``candidates``.

Where we differ from the reference code:

- The classifier is a linear head on the frozen features with the paper's Max-Entropy
  settings, not the network the reference trains (and retrains on 70% for the
  temperature) on images.
- The temperature's 30% held-out split is drawn at random from the cell's generator;
  the reference holds out the last 30% of its labeled list (the latest picks) and fails
  when that is empty.
- The reference smooths the temperature over rounds (a moving average of window 1,
  i.e. none); each step here calibrates afresh, which is the same.
- Ties go to the lower pool index (see ``maxherding``).
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import sqdist_blocks

from ._uncertainty import (BatchSize, Epochs, HeadOptions, LearningRate, Milestones, log_softmax,
                           margin_uncertainty, scores_of)
from .maxherding import MAX_CANDIDATES, KernelWidth, SubsetSize, candidates, gaussian_kernel, herding

TEMPERATURES = np.round(np.arange(1.0, 20.0, 0.1), 1)  # the reference's grid
HELD_OUT = 0.3  # share of the labeled points the temperature is calibrated on


def expected_calibration_error(logits: np.ndarray, labels: np.ndarray, bins: int) -> float:
    """ECE of the softmax of ``logits``: confidence bins ``(lo, hi]`` of equal width."""
    p = np.exp(log_softmax(logits))
    confidence, correct = p.max(axis=1), p.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            ece += abs(confidence[inside].mean() - correct[inside].mean()) * inside.mean()
    return float(ece)


def smallest_gap(x: np.ndarray) -> float | None:
    """The smallest positive distance between two rows of ``x`` (None if there is none)."""
    best = np.inf
    for start, d2 in sqdist_blocks(x, x):
        d2 = d2.cpu().numpy()
        d2[np.arange(len(d2)), start + np.arange(len(d2))] = np.inf  # a row and itself
        positive = d2[d2 > 1e-10]  # float32 rounding of identical rows
        if positive.size:
            best = min(best, float(positive.min()))
    return float(np.sqrt(best)) if np.isfinite(best) else None


class UHerding(HeadOptions):
    """MaxHerding weighted by margin uncertainty; MaxHerding itself with nothing labeled."""

    sampler_name = "uherding"
    uses_labels = False
    iterative = True
    cold_start = True

    def __init__(self, h: KernelWidth = 1.0, subset_size: SubsetSize = MAX_CANDIDATES, adaptive_h: bool = True,
                 temperature_scaling: bool = True, epochs: Epochs = 100, lr: LearningRate = 0.001,
                 milestones: Milestones = (50, 75), batch_size: BatchSize = 128, standardise: bool = True):
        super().__init__(epochs, lr, milestones, batch_size, standardise)
        self.h = h
        self.subset_size = subset_size
        self.adaptive_h = adaptive_h
        self.temperature_scaling = temperature_scaling

    def temperature(self, pool: Pool, rng: np.random.Generator) -> float:
        """The grid temperature with the lowest ECE on a held-out 30% of the labeled points."""
        held_out = int(len(pool.labeled) * HELD_OUT)
        if not self.temperature_scaling or held_out < 1:
            return 1.0
        order = pool.labeled[rng.permutation(len(pool.labeled))]
        fit, check = np.sort(order[held_out:]), np.sort(order[:held_out])
        logits = self.train_head(pool, rng, fit).logits(pool.features[check])
        labels = pool.oracle.labels(check)
        errors = [expected_calibration_error(logits / t, labels, pool.num_classes) for t in TEMPERATURES]
        return float(TEMPERATURES[int(np.argmin(errors))])

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        rows = candidates(pool, budget, rng, self.subset_size)
        taken = np.isin(rows, pool.labeled)
        weights, width, temperature = None, float(self.h), None
        if len(pool.labeled):
            head = self.train_head(pool, rng)
            temperature = self.temperature(pool, rng)
            weights = scores_of(head, pool.features, rows, lambda z: margin_uncertainty(z / temperature))
            weights[taken] = 0.0
            gap = smallest_gap(np.asarray(pool.features[pool.labeled])) if self.adaptive_h else None
            width = gap if gap is not None else width
        pool.info.update(kernel_width=width, temperature=temperature, candidates=int(len(rows)))
        kernel = gaussian_kernel(np.asarray(pool.features[rows]), width)
        return rows[herding(kernel, taken, budget, weights)]


@hookimpl
def lbal_register_samplers(register):
    register("uherding", UHerding,
             description="uncertainty-weighted kernel coverage, MaxHerding from zero labels (Bae et al. 2025)")
