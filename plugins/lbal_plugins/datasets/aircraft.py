"""``aircraft``: FGVC-Aircraft (Maji et al. 2013), 100 variants.

Options: ``root``, the ``fgvc-aircraft-2013b/`` folder of the official archive (or the
folder holding it) with ``data/images/<id>.jpg``, ``data/images_variant_trainval.txt``
and ``data/images_variant_test.txt`` (``<id> <variant>`` per line; variants may contain
spaces) and ``data/variants.txt`` (the class order); ``val_fraction`` (0.2) and
``split_seed`` (0). From https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/.

As the paper's Table 15: ``val_fraction`` of each variant's trainval images (rounded
down: 1,300 of 6,667) are drawn, seeded by ``split_seed``, as split ``val``; the other
5,367 are the pool; the 3,333 test images are the test split. The paper reports mean
per-class accuracy here.
"""

from __future__ import annotations

import os
from typing import Annotated

import numpy as np
from annotated_types import Interval

from lbal_bench import LbalError, hookimpl
from lbal_bench.kit.datafiles import FileDataset, read_list, require

HINT = "FGVC-Aircraft from https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/ (fgvc-aircraft-2013b.tar.gz)"
FILES = ("images_variant_trainval.txt", "images_variant_test.txt", "variants.txt")


class Aircraft(FileDataset):
    """FGVC-Aircraft variants: trainval minus a seeded per-class validation share, and test."""

    provides = "pil_images"  # RGB PIL images read from the files (lbal_bench.contracts.INPUT_KINDS)

    name = "aircraft"

    def __init__(self, root: str | None = None, val_fraction: Annotated[float, Interval(ge=0, lt=1)] = 0.2,
                 split_seed: int = 0):
        super().__init__(root)
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        if not (self.root / "data").is_dir() and (self.root / "fgvc-aircraft-2013b").is_dir():
            self.root = self.root / "fgvc-aircraft-2013b"
        require(self.name, self.root, "data", "images", hint=HINT, kind="folder")
        for file in FILES:
            require(self.name, self.root, "data", file, hint=HINT)

    def load(self):
        data = self.root / "data"
        with open(data / "variants.txt", encoding="utf-8") as handle:
            classes = [line.strip() for line in handle if line.strip()]
        index = {name: i for i, name in enumerate(classes)}

        def read(file: str) -> tuple[list[str], np.ndarray]:
            entries = read_list(data / file, separator=" ")
            unknown = [variant for _, variant in entries if variant not in index]
            if unknown:
                raise LbalError(f"{data / file}: variant '{unknown[0]}' is not in variants.txt")
            paths = [os.path.join(data, "images", f"{image}.jpg") for image, _ in entries]
            return paths, np.asarray([index[variant] for _, variant in entries], dtype=np.int64)

        trainval, labels = read(FILES[0])
        rng = np.random.default_rng(self.split_seed)
        val = np.zeros(len(labels), dtype=bool)
        for c in range(len(classes)):
            members = np.flatnonzero(labels == c)
            val[rng.permutation(members)[: int(self.val_fraction * len(members) + 1e-9)]] = True
        splits = {
            "train": ([p for p, v in zip(trainval, val) if not v], labels[~val]),
            "val": ([p for p, v in zip(trainval, val) if v], labels[val]),
            "test": read(FILES[1]),
        }
        return splits, classes, [data / f for f in FILES]

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "val_fraction": self.val_fraction, "split_seed": self.split_seed}


@hookimpl
def lbal_register_datasets(register):
    register("aircraft", Aircraft, description="FGVC-Aircraft variants under `root`, 20% per-class val split")
