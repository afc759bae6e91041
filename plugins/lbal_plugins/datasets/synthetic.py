"""``synthetic``: Gaussian clusters on the unit sphere, as precomputed features.

Measures lbal-bench at any scale without downloading a dataset: ``num_classes`` random
unit centres in ``dim`` dimensions, each point a centre plus Gaussian noise of scale
``spread / sqrt(dim)``, L2-normalised; a point's class is its cluster. The splits carry
features (``Split(features=...)``), so the backbone is skipped: pair it with ``pixels``.

Options (defaults): ``train_size=50000``, ``test_size=10000``, ``dim=512``,
``num_classes=10``, ``spread=0.5`` (smaller is tighter), ``imbalance=1.0`` (the ratio
between the largest and the smallest class of the train split: class ``c`` has
probability ∝ ``imbalance ** (-c / (num_classes - 1))``, a long tail like ImageNet-LT's;
the test split stays balanced, as ImageNet-LT's does), ``seed=0``. A seed gives the
same data on every machine; the fingerprint holds every option.

An ImageNet-size pool: ``{train_size: 1281167, test_size: 50000, num_classes: 1000}``.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from annotated_types import Ge, Gt

from lbal_bench import Split, hookimpl

BLOCK = 65536  # rows of noise drawn at a time: bounds the float64 temporary
Count = Annotated[int, Ge(1)]  # train_size, test_size, dim, num_classes


def clustered_features(
    n: int, dim: int, clusters: int, spread: float = 0.5, seed: int = 0, imbalance: float = 1.0, draw: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labels)``: ``n`` L2-normalised float32 points around ``clusters`` random
    unit centres (the same centres for a ``seed``), labels int64.

    ``imbalance`` > 1 draws labels from a long tail (largest / smallest class probability);
    ``draw`` > 0 draws other points around the same centres (e.g. a test split).
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    if draw:
        rng = np.random.default_rng([seed, draw])
    if imbalance == 1:
        labels = rng.integers(clusters, size=n)
    else:
        weights = imbalance ** (-np.arange(clusters) / max(1, clusters - 1))
        labels = rng.choice(clusters, size=n, p=weights / weights.sum())
    x = np.empty((n, dim), dtype=np.float32)
    scale = spread / np.sqrt(dim)
    for start in range(0, n, BLOCK):  # the same stream as one draw of [n, dim], in float64 as before
        rows = slice(start, min(n, start + BLOCK))
        block = centres[labels[rows]] + rng.standard_normal((rows.stop - start, dim)).astype(np.float32) * scale
        x[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return x, labels.astype(np.int64)


class Synthetic:
    """Clustered features with a known class per cluster."""

    provides = "features"  # the backbone is skipped (lbal_bench.contracts.INPUT_KINDS)

    def __init__(self, train_size: Count = 50000, test_size: Count = 10000, dim: Count = 512, num_classes: Count = 10,
                 spread: Annotated[float, Gt(0)] = 0.5, imbalance: Annotated[float, Ge(1)] = 1.0, seed: int = 0):
        self.options = {"train_size": train_size, "test_size": test_size, "dim": dim, "num_classes": num_classes,
                        "spread": spread, "imbalance": imbalance, "seed": seed}
        self.num_classes = num_classes
        self.class_names = [f"cluster {c}" for c in range(num_classes)]
        self._splits: dict[str, Split] = {}

    def split(self, name: str) -> Split:
        if name not in self._splits:
            self._splits[name] = self._generate(name)
        return self._splits[name]

    def _generate(self, name: str) -> Split:
        o = self.options
        size, imbalance, draw = (o["train_size"], o["imbalance"], 0) if name == "train" else (o["test_size"], 1.0, 1)
        x, y = clustered_features(size, o["dim"], o["num_classes"], o["spread"], o["seed"], imbalance, draw)
        return Split(labels=y, features=x)

    def fingerprint(self) -> dict:
        return {"name": "synthetic", "version": 1, **self.options}


@hookimpl
def lbal_register_datasets(register):
    register("synthetic", Synthetic, description="Gaussian clusters as precomputed features (any scale)")
