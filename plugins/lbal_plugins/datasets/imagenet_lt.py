"""``imagenet_lt``: ImageNet-LT (Liu et al., CVPR 2019), the long-tailed subset of ImageNet.

Options: ``root``, the ImageNet root the split lists index into (``train/…``,
``val/…``); ``lists``, the folder holding ``ImageNet_LT_train.txt`` (115,846 images, 1280
to 5 per class: the pool) and ``ImageNet_LT_test.txt`` (the test split: ImageNet's
50,000 validation images, as the paper evaluates). Each line is ``relative/path label``.
The lists come with the OLTR code (https://github.com/zhmiao/OpenLongTailRecognition-OLTR);
the images are ImageNet's (see ``imagenet``).

Class names are the class folders (WordNet ids) of the listed paths. The fingerprint
hashes both lists' content and every listed image's path and size, so a missing image
is reported, naming it, before any work starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from lbal_bench import LbalError, hookimpl
from lbal_bench.kit.datafiles import FileDataset, int_labels, read_list, require

LISTS = {"train": "ImageNet_LT_train.txt", "test": "ImageNet_LT_test.txt"}
HINT = "the ImageNet-LT split lists of the OLTR code (ImageNet_LT_train.txt, ImageNet_LT_test.txt)"


class ImageNetLT(FileDataset):
    """ImageNet-LT: the long-tailed train list (pool) and ImageNet's validation images (test)."""

    provides = "pil_images"  # RGB PIL images read from the files (lbal_bench.contracts.INPUT_KINDS)

    name = "imagenet_lt"

    def __init__(self, root: str | None = None, lists: str | None = None):
        super().__init__(root)
        if not lists:
            raise ValueError("option 'lists' is required: the folder with ImageNet_LT_train.txt and ImageNet_LT_test.txt")
        require(self.name, self.root, hint="the ImageNet root the lists index into")
        self.lists = Path(lists).expanduser()
        for file in LISTS.values():
            require(self.name, self.lists, file, hint=HINT, option="lists")

    def load(self):
        splits, names = {}, {}
        for split, file in LISTS.items():
            path = self.lists / file
            entries = read_list(path)
            labels = int_labels(path, entries)
            for (relative, _), label in zip(entries, labels):
                folder = Path(relative).parent.name
                if names.setdefault(int(label), folder) != folder:
                    raise LbalError(f"{path}: label {label} is class '{names[int(label)]}' and '{folder}'")
            splits[split] = ([os.path.join(self.root, relative) for relative, _ in entries], labels)
        count = max(names) + 1
        if sorted(names) != list(range(count)):
            raise LbalError(f"{self.lists}: labels must cover 0..{count - 1} without gaps")
        return splits, [names[i] for i in range(count)], [self.lists / f for f in LISTS.values()]


@hookimpl
def lbal_register_datasets(register):
    register("imagenet_lt", ImageNetLT, description="ImageNet-LT split lists over an ImageNet `root`")
