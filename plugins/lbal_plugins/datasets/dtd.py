"""``dtd``: the Describable Textures Dataset (Cimpoi et al., CVPR 2014), 47 classes.

Options: ``root``, the ``dtd/`` folder of the official archive (or the folder holding
it) with ``images/<class>/<image>.jpg`` and ``labels/train1.txt`` … ``test10.txt`` (one
``class/image.jpg`` per line); ``partition`` (1..10, default 1: the paper's). From
https://www.robots.ox.ac.uk/~vgg/data/dtd/. As the paper's Table 15: the partition's
1,880 training images are the pool, its 1,880 test images the test split, its 1,880
validation images split ``val``; top-1 accuracy.
"""

from __future__ import annotations

import os
from typing import Annotated

import numpy as np
from annotated_types import Interval

from lbal_bench import hookimpl
from lbal_bench.kit.datafiles import FileDataset, require

HINT = "DTD from https://www.robots.ox.ac.uk/~vgg/data/dtd/ (dtd-r1.0.1.tar.gz)"
SPLITS = {"train": "train", "val": "val", "test": "test"}


class DTD(FileDataset):
    """DTD: one of its ten train/val/test partitions."""

    provides = "pil_images"  # RGB PIL images read from the files (lbal_bench.contracts.INPUT_KINDS)

    name = "dtd"

    def __init__(self, root: str | None = None, partition: Annotated[int, Interval(ge=1, le=10)] = 1):
        super().__init__(root)
        self.partition = partition
        if not (self.root / "labels").is_dir() and (self.root / "dtd").is_dir():
            self.root = self.root / "dtd"
        require(self.name, self.root, "images", hint=HINT, kind="folder")
        for file in self._lists().values():
            require(self.name, self.root, "labels", file, hint=HINT)

    def _lists(self) -> dict[str, str]:
        return {split: f"{prefix}{self.partition}.txt" for split, prefix in SPLITS.items()}

    def load(self):
        entries = {}
        for split, file in self._lists().items():
            with open(self.root / "labels" / file, encoding="utf-8") as handle:
                entries[split] = [line.strip() for line in handle if line.strip()]
        classes = sorted({line.split("/", 1)[0] for lines in entries.values() for line in lines})
        index = {name: i for i, name in enumerate(classes)}
        splits = {
            split: ([os.path.join(self.root, "images", line) for line in lines],
                    np.asarray([index[line.split("/", 1)[0]] for line in lines], dtype=np.int64))
            for split, lines in entries.items()
        }
        return splits, classes, [self.root / "labels" / f for f in self._lists().values()]

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "partition": self.partition}


@hookimpl
def lbal_register_datasets(register):
    register("dtd", DTD, description="Describable Textures under `root`, one of its 10 partitions")
