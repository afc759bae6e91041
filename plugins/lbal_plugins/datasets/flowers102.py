"""``flowers102``: Oxford Flowers-102 (Nilsback & Zisserman 2008) with its own splits.

Option ``root``: the folder holding (directly, or under ``flowers-102/`` as torchvision
puts it) ``jpg/image_00001.jpg`` …, ``imagelabels.mat`` (the label 1..102 of each of the
8,189 images) and ``setid.mat`` (image ids of ``trnid``, ``valid``, ``tstid``); from
https://www.robots.ox.ac.uk/~vgg/data/flowers/102/. As the paper's Table 15: the 1,020
training images are the pool, the 6,149 test images the test split; the 1,020
validation images are split ``val``. The paper reports mean per-class accuracy here.
"""

from __future__ import annotations

import os

import numpy as np

from lbal_bench import LbalError, hookimpl
from lbal_bench.kit.datafiles import FileDataset, require

HINT = "Flowers-102 from https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (102flowers.tgz, imagelabels.mat, setid.mat)"
SPLITS = {"train": "trnid", "val": "valid", "test": "tstid"}


class Flowers102(FileDataset):
    """Flowers-102: train (pool), val and test as given by ``setid.mat``."""

    provides = "pil_images"  # RGB PIL images read from the files (lbal_bench.contracts.INPUT_KINDS)

    name = "flowers102"

    def __init__(self, root: str | None = None):
        super().__init__(root)
        if not (self.root / "setid.mat").exists() and (self.root / "flowers-102").is_dir():
            self.root = self.root / "flowers-102"
        for file in ("imagelabels.mat", "setid.mat"):
            require(self.name, self.root, file, hint=HINT)
        require(self.name, self.root, "jpg", hint=HINT, kind="folder")

    def _mat(self, file: str, key: str) -> np.ndarray:
        from scipy.io import loadmat

        path = self.root / file
        try:
            values = loadmat(path)[key]
        except KeyError:
            raise LbalError(f"{path}: no '{key}' array") from None
        except (ValueError, OSError, TypeError) as exc:
            raise LbalError(f"{path}: not a MATLAB file ({exc})") from None
        return np.asarray(values).reshape(-1).astype(np.int64)

    def load(self):
        labels = self._mat("imagelabels.mat", "labels") - 1
        if labels.min() < 0:
            raise LbalError(f"{self.root / 'imagelabels.mat'}: labels must start at 1")
        splits = {}
        for split, key in SPLITS.items():
            ids = self._mat("setid.mat", key)
            if ids.min() < 1 or ids.max() > len(labels):
                raise LbalError(f"{self.root / 'setid.mat'}: '{key}' holds image ids outside 1..{len(labels)}")
            splits[split] = ([os.path.join(self.root, "jpg", f"image_{i:05d}.jpg") for i in ids], labels[ids - 1])
        names = [str(c) for c in range(1, int(labels.max()) + 2)]
        return splits, names, [self.root / "imagelabels.mat", self.root / "setid.mat"]


@hookimpl
def lbal_register_datasets(register):
    register("flowers102", Flowers102, description="Oxford Flowers-102 under `root`, its train/val/test ids")
