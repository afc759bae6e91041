"""``imagenet``: ILSVRC-2012 ImageNet in the ImageFolder layout (1.28M train, 50k val).

Option ``root``: a folder with ``train/<wnid>/*.JPEG`` (the pool) and
``val/<wnid>/*.JPEG`` (the test split: the 50,000 validation images sorted into one
folder per class, as torchvision's ImageFolder and the paper's code read them). Obtain
the archives from https://image-net.org (ILSVRC2012 train and val) and sort the
validation images into class folders (e.g. PyTorch's examples' ``valprep.sh``).

Classes are the sorted folder names of ``train/`` and images are sorted by file name
within a class, as ImageFolder orders them, so indices match the paper's code. The
fingerprint hashes every image's path and size (a scan of the tree, not the content).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lbal_bench import LbalError, hookimpl
from lbal_bench.kit.datafiles import FileDataset, require

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
HINT = "ILSVRC2012 from https://image-net.org, validation images sorted into class folders"


def image_folder(folder: Path, classes: list[str] | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """``(paths, labels, classes)`` of an ImageFolder tree; ``classes`` fixes the label order."""
    found = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    classes = classes if classes is not None else found
    index = {name: i for i, name in enumerate(classes)}
    unknown = [name for name in found if name not in index]
    if unknown:
        raise LbalError(f"{folder}: class folder '{unknown[0]}' is not a class of the training set")
    paths, labels = [], []
    for name in found:
        files = sorted(e.name for e in os.scandir(folder / name)
                       if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES))
        paths += [os.path.join(folder, name, f) for f in files]
        labels += [index[name]] * len(files)
    if not paths:
        raise LbalError(f"{folder}: no images found (expected {folder}/<class>/<image>.JPEG)")
    return paths, np.asarray(labels, dtype=np.int64), classes


class ImageNet(FileDataset):
    """ImageNet train (pool) and val (test) image folders."""

    provides = "pil_images"  # RGB PIL images read from the files (lbal_bench.contracts.INPUT_KINDS)

    name = "imagenet"

    def __init__(self, root: str | None = None):
        super().__init__(root)
        require(self.name, self.root, "train", hint=HINT, kind="folder")
        require(self.name, self.root, "val", hint=HINT, kind="folder")

    def load(self):
        train, train_labels, classes = image_folder(self.root / "train")
        val, val_labels, _ = image_folder(self.root / "val", classes)
        return {"train": (train, train_labels), "test": (val, val_labels)}, classes, []


@hookimpl
def lbal_register_datasets(register):
    register("imagenet", ImageNet, description="ImageNet train/val image folders under `root`")
