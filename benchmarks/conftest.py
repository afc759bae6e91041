"""Shared data for the benchmarks: synthetic clustered features at realistic scale.

Benchmarks are not tests: run them with ``pytest benchmarks/ --benchmark-only`` and
report ratios against a baseline measured in the same run (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import numpy as np


def clustered_features(n: int, dim: int, clusters: int, spread: float = 0.5, seed: int = 0):
    """``(features, labels)``: ``n`` L2-normalised float32 points around ``clusters``
    random unit centres; ``spread`` is the noise scale relative to the centres (smaller is
    tighter)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(clusters, size=n)
    noise = rng.standard_normal((n, dim)).astype(np.float32) * (spread / np.sqrt(dim))
    x = centres[labels] + noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels.astype(np.int64)
