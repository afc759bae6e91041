"""Feature extraction and the on-disk feature cache.

Features are computed once per (dataset, backbone, split), L2-normalised, stored as
``<key>.npy`` (float32) and memory-mapped on every later use. Writers take a file lock,
so processes sharing a cache directory never compute or write the same entry twice.

The cache lives in ``$LBAL_CACHE_DIR`` if set, else in the platform's user cache
directory (``platformdirs``), under ``features/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock
from platformdirs import user_cache_dir

from .atomic import atomic_write, atomic_write_text
from .cells import Plugin, fingerprint
from .errors import LbalError


def default_cache_dir() -> Path:
    """``$LBAL_CACHE_DIR`` or the user cache directory for lbal-bench."""
    return Path(os.environ.get("LBAL_CACHE_DIR") or user_cache_dir("lbal-bench"))


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class FeatureCache:
    """L2-normalised features per (dataset, backbone, split), computed once."""

    def __init__(self, root: Path | None = None):
        self.root = (Path(root) if root else default_cache_dir()) / "features"

    def key(self, dataset: Plugin, backbone: Plugin, split: str) -> str:
        return fingerprint({
            "dataset": dataset.obj.fingerprint(),
            "backbone": backbone.obj.fingerprint(),
            "split": split,
        })

    def path(self, dataset: Plugin, backbone: Plugin, split: str) -> Path:
        return self.root / f"{self.key(dataset, backbone, split)}.npy"

    def has(self, dataset: Plugin, backbone: Plugin, split: str) -> bool:
        return self.path(dataset, backbone, split).exists()

    def get(
        self,
        dataset: Plugin,
        backbone: Plugin,
        split: str,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """The features of ``split``, read-only and memory-mapped; extracted on first use."""
        path = self.path(dataset, backbone, split)
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            with FileLock(str(path) + ".lock"):
                if not path.exists():
                    self._extract(dataset, backbone, split, path, progress)
        return np.load(path, mmap_mode="r")

    def _extract(self, dataset: Plugin, backbone: Plugin, split: str, path: Path, progress) -> None:
        data = dataset.obj.split(split)
        raw = data.features if data.features is not None else backbone.obj.embed(data.images, progress=progress)
        features = np.asarray(raw, dtype=np.float32)
        where = f"dataset '{dataset.spec.display}' ({split}) with backbone '{backbone.spec.display}'"
        if features.ndim != 2 or len(features) != len(data):
            raise LbalError(f"{where}: expected features of shape [{len(data)}, D], got {list(features.shape)}")
        if not np.isfinite(features).all():
            bad = int((~np.isfinite(features).all(axis=1)).sum())
            raise LbalError(f"{where}: {bad} feature vector(s) contain NaN or infinite values")
        features = l2_normalise(features)
        atomic_write(path, lambda out: np.save(out, features))
        atomic_write_text(path.with_suffix(".json"), json.dumps({
            "dataset": dataset.obj.fingerprint(),
            "backbone": backbone.obj.fingerprint(),
            "split": split,
            "shape": list(features.shape),
        }, indent=2, default=str))
