"""``digits``: scikit-learn's bundled 8×8 handwritten digits (1797 images, 10 classes).

Ships inside scikit-learn, so it works offline. A fixed stratified split keeps 25% of
each class for testing (1347 train images form the pool, 450 test images).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Annotated

import numpy as np
from annotated_types import Interval

from lbal_bench import Split, hookimpl


class Digits:
    """The digits dataset with a fixed stratified train/test split."""

    provides = "image_arrays"  # float32 [N, 8, 8] grey pixels, 0-16 (lbal_bench.contracts.INPUT_KINDS)
    num_classes = 10
    class_names = [str(i) for i in range(10)]

    def __init__(self, test_size: Annotated[float, Interval(gt=0, lt=1)] = 0.25, split_seed: int = 0):
        self.test_size = test_size
        self.split_seed = split_seed

    @functools.cached_property
    def _splits(self) -> dict[str, Split]:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        data = load_digits()
        images = data.images.astype(np.float32)
        x_train, x_test, y_train, y_test = train_test_split(
            images, data.target, test_size=self.test_size, stratify=data.target, random_state=self.split_seed
        )
        return {"train": Split(labels=y_train.astype(np.int64), images=x_train),
                "test": Split(labels=y_test.astype(np.int64), images=x_test)}

    def split(self, name: str) -> Split:
        return self._splits[name]

    def fingerprint(self) -> dict:
        digest = hashlib.sha256()
        for name in ("train", "test"):
            digest.update(np.ascontiguousarray(self._splits[name].images).tobytes())
            digest.update(self._splits[name].labels.tobytes())
        return {"name": "digits", "version": 1, "test_size": self.test_size,
                "split_seed": self.split_seed, "sha256": digest.hexdigest()}


@hookimpl
def lbal_register_datasets(register):
    register("digits", Digits, description="scikit-learn's 8x8 handwritten digits (offline)")
