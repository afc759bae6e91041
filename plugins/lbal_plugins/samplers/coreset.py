"""``coreset``: k-center greedy selection (Sener & Savarese, "Active Learning for
Convolutional Neural Networks: A Core-Set Approach", ICLR 2018), the paper's Core-set
baseline.

Protocol: iterative. Starting from the labeled set, each pick is the unlabeled point
farthest (Euclidean distance on the L2-normalised features) from its nearest labeled or
already-picked point; ties go to the lowest pool index. No options.

The picks are those of the original code (UCDvision/low-budget-al
``strategies.core_set``: after each pick, a faiss ``IndexFlatL2`` search of the whole
pool against the new centre, then a per-point Python loop taking the minimum), computed
by lazy greedy evaluation instead of measuring the whole pool at every pick:

- every point keeps its squared min-distance ``m`` and the number of centres it has been
  measured against; a new centre can only lower ``m``, so an ``m`` that has not seen the
  newest centres is an upper bound of the true one;
- a pick takes the point with the largest ``m`` (lowest index on ties). If that point has
  missed centres, the points with the largest ``m`` (1, then 8, 64, … of them) are
  measured against the centres they missed, in blocks, and the search repeats. An
  up-to-date ``m`` that is the largest is the exact answer, since every other ``m`` only
  overestimates. Most picks measure a handful of points (on 50,000 clustered points, the
  median pick measures one), so a pick costs a few passes over an ``N``-vector instead
  of an ``N × D`` product;
- squared distances are ``|x|² + |c|² - 2 x·c`` in float32, as faiss computes them; two
  points whose min-distances differ by less than float32 rounding (about 1e-6) may come
  out in the other order than in faiss;
- the same code runs with torch on the GPU when ``torch_device() == "cuda"``.

Cold start (``cold_start = True``): with ``pool.labeled`` empty the first centre is drawn
uniformly from the pool with ``rng`` and the greedy continues from it. This is the
choice of the k-center greedy most implementations descend from (google/active-learning,
``sampling_methods/kcenter_greedy.py``: "Initialize centers with a randomly selected
datapoint"; JordanAsh/badge's ``core_set.py`` likewise); Sener & Savarese's paper starts
from a labeled pool and does not say. The paper's Core-set baseline keeps its random
initial pool: suites name ``initial_pool: {sampler: random, size: <smallest budget>}``
for it explicitly, so a zero-label Core-set row only appears when a suite asks for one.

Where we differ from the original: with no labeled point the original took the first
pool point as the first centre (see above for ours); a picked point is never picked again, even when many
points coincide (the original could pick a duplicate row twice and then failed an
assertion). The original's GPU search used float16; this is float32 on every device.
"""

from __future__ import annotations

import warnings

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import nearest, torch_device

# Elements of the largest temporary (points × features or points × centres): 16 MiB.
_BLOCK_ELEMENTS = 1 << 22


class CoresetSampler:
    """k-center greedy on Euclidean feature distances, starting from the labeled set."""

    uses_labels = False
    iterative = True
    cold_start = True

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        unlabeled = pool.unlabeled
        if not 1 <= budget <= len(unlabeled):
            raise ValueError(f"budget must be between 1 and the {len(unlabeled)} unlabeled points, got {budget}")
        first = None if len(pool.labeled) else int(unlabeled[rng.integers(len(unlabeled))])
        return k_center_greedy(pool.features, pool.labeled, budget, first, torch_device())


def k_center_greedy(features: np.ndarray, labeled: np.ndarray, budget: int, first: int | None, device: str) -> np.ndarray:
    """Pool indices of ``budget`` k-center greedy picks (squared Euclidean distances) from
    the centres ``labeled``, computed with torch on ``device``. ``first`` is the first
    pick, which must be given when ``labeled`` is empty (else ``None``)."""
    import torch

    x = np.ascontiguousarray(features, dtype=np.float32)
    n, dim = x.shape
    with warnings.catch_warnings():  # a read-only memmap is shared with torch, never written
        warnings.simplefilter("ignore", UserWarning)
        feats = torch.from_numpy(x).to(device)
    sq = torch.einsum("ij,ij->i", feats, feats)
    starts = torch.as_tensor(np.asarray(labeled, dtype=np.int64) if len(labeled) else np.array([first]), device=device)
    to_pick = budget if len(labeled) else budget - 1
    order = torch.cat([starts, torch.empty(to_pick, dtype=torch.int64, device=device)])  # the centres, in order
    centres = torch.empty((len(order), dim), dtype=torch.float32, device=device)
    centres[:len(starts)] = feats[starts]
    k = len(starts)  # centres so far

    if len(labeled):
        dist, _ = nearest(x[labeled], x, 1)
        mind = torch.from_numpy(np.maximum(dist[:, 0], 0)).to(device)
    else:
        mind = (sq + sq[first] - 2 * (feats @ centres[0])).clamp_min_(0)
    mind[starts] = -1.0  # a centre is never picked
    seen = torch.full((n,), k, dtype=torch.int64, device=device)  # centres each m has seen

    def refresh(rows: torch.Tensor) -> None:
        """Lower ``mind[rows]`` with the distances to the centres each row has not seen."""
        for chunk in rows.split(max(1, _BLOCK_ELEMENTS // max(dim, k))):
            lo = int(seen[chunk].min())
            d2 = sq[chunk, None] + sq[order[lo:k]][None, :] - 2 * (feats[chunk] @ centres[lo:k].T)
            already = torch.arange(lo, k, device=device)[None, :] < seen[chunk, None]
            mind[chunk] = torch.minimum(mind[chunk], d2.clamp_min_(0).masked_fill_(already, float("inf")).amin(1))
            seen[chunk] = k

    for _ in range(to_pick):
        width = 1
        while True:
            new = int(torch.argmax(mind))
            if int(seen[new]) == k:
                break
            rows = torch.topk(mind, min(width, n)).indices if width > 1 else torch.tensor([new], device=device)
            refresh(rows[seen[rows] < k])
            width *= 8
        mind[new] = -1.0
        order[k], centres[k] = new, feats[new]
        k += 1
    return order[len(labeled):].cpu().numpy()


@hookimpl
def lbal_register_samplers(register):
    register("coreset", CoresetSampler, description="k-center greedy from the labeled set (Sener & Savarese)")
