"""``cifar100``: CIFAR-100 (Krizhevsky 2009, 100 fine classes) in torchvision's python-pickle layout.

Option ``root``: torchvision's CIFAR root (holding ``cifar-100-python/``) or that folder
itself, with ``train`` (the 50,000-image pool), ``test`` (10,000) and ``meta``; from
https://www.cs.toronto.edu/~kriz/cifar.html ("CIFAR-100 python version"), or
``download: true``. Labels are the fine labels. Read exactly as ``cifar10`` is (pair
with ``transform: cifar100``).
"""

from __future__ import annotations

from lbal_bench import hookimpl
from lbal_plugins.datasets.cifar10 import CIFAR10


class CIFAR100(CIFAR10):
    """CIFAR-100's python files: ``train`` is the pool, fine labels."""

    name = "cifar100"
    provides = "pil_images"  # 32x32 RGB PIL images (lbal_bench.contracts.INPUT_KINDS)
    folder = "cifar-100-python"
    train_files = ("train",)
    test_files = ("test",)
    meta_file = "meta"
    labels_key = "fine_labels"
    names_key = "fine_label_names"
    torchvision_class = "CIFAR100"


@hookimpl
def lbal_register_datasets(register):
    register("cifar100", CIFAR100, description="CIFAR-100 from torchvision's python files under `root`")
