"""``cifar10``: CIFAR-10 (Krizhevsky 2009) in torchvision's python-pickle layout.

Option ``root``: torchvision's CIFAR root (holding ``cifar-10-batches-py/``) or that
folder itself, with ``data_batch_1`` … ``data_batch_5`` (the 50,000-image pool),
``test_batch`` (10,000 test images) and ``batches.meta`` (class names). Obtain it from
https://www.cs.toronto.edu/~kriz/cifar.html ("CIFAR-10 python version"), or pass
``download: true`` to let torchvision fetch and verify it into ``root`` on first use
(never by default). The batches are Python pickles: they are read with an unpickler
that builds numpy arrays and nothing else, so a tampered file cannot run code.

Images are 32×32 RGB; pair with a backbone transform such as ``transform: cifar10``
(the paper's code: native size, CIFAR statistics). The fingerprint hashes the content
of every batch file.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np

from lbal_bench import LbalError, Split, hookimpl
from lbal_bench.kit.datafiles import ImageArray, files_digest, require

# what a CIFAR batch pickle may contain besides builtins: numpy arrays and their dtypes
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def read_pickle(path: Path) -> dict:
    """A CIFAR batch or meta file as a dict; an ``LbalError`` naming the file if it is not one."""
    try:
        with open(path, "rb") as handle:
            data = _ArraysOnly(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise LbalError(f"{path}: not a CIFAR python batch ({exc})") from None
    if not isinstance(data, dict):
        raise LbalError(f"{path}: not a CIFAR python batch (a {type(data).__name__}, not a dict)")
    return data


class CIFAR10:
    """CIFAR-10's python batches: the five training batches are the pool."""

    name = "cifar10"
    version = 1
    provides = "pil_images"  # 32x32 RGB PIL images (lbal_bench.contracts.INPUT_KINDS)
    folder = "cifar-10-batches-py"
    train_files = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_files = ("test_batch",)
    meta_file = "batches.meta"
    labels_key = "labels"
    names_key = "label_names"
    torchvision_class = "CIFAR10"
    # where the batches are says nothing the fingerprint's content hash does not: moved
    # data keeps its cached features and results
    runtime_options = ("root",)

    def __init__(self, root: str | None = None, download: bool = False):
        if not root:
            raise ValueError(f"option 'root' is required: the folder holding {self.folder}/")
        self.root = Path(root).expanduser()
        self.download = download
        if not download:
            for file in (*self.train_files, *self.test_files, self.meta_file):
                self._file(file)

    @property
    def base(self) -> Path:
        """The folder of the batch files: ``root`` itself, or ``root/<folder>``."""
        return self.root if (self.root / self.meta_file).exists() else self.root / self.folder

    def _file(self, name: str) -> Path:
        hint = "the CIFAR python version from https://www.cs.toronto.edu/~kriz/cifar.html, or download: true"
        return require(self.name, self.root, *self.base.relative_to(self.root).parts, name, hint=hint)

    @functools.cached_property
    def _splits(self) -> dict[str, Split]:
        if self.download:
            import torchvision

            for train in (True, False):
                getattr(torchvision.datasets, self.torchvision_class)(str(self.root), train=train, download=True)
        return {"train": self._read(self.train_files), "test": self._read(self.test_files)}

    def _read(self, files: tuple[str, ...]) -> Split:
        pixels, labels = [], []
        for name in files:
            path = self._file(name)
            batch = read_pickle(path)
            if "data" not in batch or self.labels_key not in batch:
                raise LbalError(f"{path}: a CIFAR batch needs 'data' and '{self.labels_key}' (found {', '.join(batch)})")
            data = np.asarray(batch["data"], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(batch[self.labels_key]):
                raise LbalError(
                    f"{path}: expected 'data' of shape [N, 3072] and N labels, got {list(data.shape)} "
                    f"and {len(batch[self.labels_key])} labels"
                )
            pixels.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch[self.labels_key], dtype=np.int64))
        labels = np.concatenate(labels)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise LbalError(f"{self.base}: labels must lie in 0..{self.num_classes - 1}, found {labels.min()}..{labels.max()}")
        return Split(labels=labels, images=ImageArray(np.ascontiguousarray(np.concatenate(pixels))))

    @functools.cached_property
    def class_names(self) -> list[str]:
        path = self._file(self.meta_file)
        names = read_pickle(path).get(self.names_key)
        if not isinstance(names, list):
            raise LbalError(f"{path}: no '{self.names_key}' list")
        return [str(n) for n in names]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> Split:
        if name not in ("train", "test"):
            raise LbalError(f"dataset '{self.name}' has no split '{name}' (it has train, test)")
        return self._splits[name]

    @functools.cached_property
    def _fingerprint(self) -> dict:
        self._splits  # noqa: B018  (downloads first when asked to)
        files = [*self.train_files, *self.test_files, self.meta_file]
        return {"name": self.name, "version": self.version,
                "files": files_digest(self.base, files, content=True, owner=f"dataset '{self.name}'")}

    def fingerprint(self) -> dict:
        return self._fingerprint


@hookimpl
def lbal_register_datasets(register):
    register("cifar10", CIFAR10, description="CIFAR-10 from torchvision's python batches under `root`")
