"""``features``: your own precomputed embeddings, from any model, as a dataset.

Options: ``train`` and ``test``, one file each, holding ``features`` (``[N, D]``, any
float type) and ``labels`` (``[N]`` integers from 0):

- ``.npz`` (``numpy.savez``) or ``.safetensors`` with arrays named ``features`` and
  ``labels``;
- ``.npy`` holding the features (memory-mapped, so a pool of any size is read once),
  with the labels beside it in ``<name>.labels.npy``.

``num_classes`` (default: the largest label + 1) and ``class_names`` (default: the
class numbers) are optional. ``require_labels=False`` accepts files without labels
(no ``labels`` array, no ``<name>.labels.npy``): their points get label -1, and with no
labels at all ``num_classes`` is 0. ``lbal-bench select`` reads features files this way
(it never reads the pool's labels); a benchmark run refuses such a dataset, as it needs
every label. The splits carry features, so the backbone is skipped:
name any backbone with a ``label`` that tells the board what made the features, e.g.
``backbones: [{name: pixels, label: my_model}]``. The core L2-normalises them. The
fingerprint hashes both files' content.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from lbal_bench import LbalError, Split, hookimpl
from lbal_bench.kit.datafiles import sha256_file

SUFFIXES = (".npz", ".safetensors", ".npy")
BLOCK = 65536  # rows checked at a time


def labels_file(path: Path) -> Path:
    """Where the labels of a ``.npy`` features file are: ``<name>.labels.npy`` beside it."""
    return path.with_name(path.stem + ".labels.npy")


def _read(path: Path, require_labels: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labels)`` of one file, checked; every problem names the file. Without
    ``require_labels`` a file without labels is read with every label -1."""
    try:
        if path.suffix == ".npy":
            features = np.load(path, mmap_mode="r")
            labels = np.load(labels_file(path)) if require_labels or labels_file(path).is_file() else None
        elif path.suffix == ".npz":
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
        else:
            from safetensors.numpy import load_file

            arrays = load_file(str(path))
    except Exception as exc:  # numpy and safetensors raise many kinds on a corrupt file
        raise LbalError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None
    if path.suffix != ".npy":
        required = ("features", "labels") if require_labels else ("features",)
        missing = [k for k in required if k not in arrays]
        if missing:
            raise LbalError(f"{path}: no array named '{missing[0]}' (found {', '.join(arrays) or 'none'})")
        features, labels = arrays["features"], arrays.get("labels")
    if features.ndim != 2 or not np.issubdtype(features.dtype, np.floating):
        raise LbalError(f"{path}: features must be a float [N, D] array, got {features.dtype} {list(features.shape)}")
    given = labels is not None
    if not given:
        labels = np.full(len(features), -1, dtype=np.int64)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise LbalError(f"{path}: labels must be a 1-D integer array, got {labels.dtype} {list(labels.shape)}")
    if len(features) != len(labels):
        raise LbalError(f"{path}: {len(features)} feature rows but {len(labels)} labels")
    if given and len(labels) and labels.min() < 0:
        raise LbalError(f"{path}: labels must be >= 0, found {labels.min()}")
    for start, block in _blocks(path, features):
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            raise LbalError(f"{path}: feature row {start + int(np.argmin(finite))} contains NaN or infinite values")
    return features, labels.astype(np.int64)


def _blocks(path: Path, features: np.ndarray):
    """``(first row, rows)`` of ``features`` in blocks; a memory-mapped ``.npy`` is read with
    ordinary file reads, so checking it leaves none of its pages in this process's memory."""
    if not (isinstance(features, np.memmap) and features.flags.c_contiguous):
        for start in range(0, len(features), BLOCK):
            yield start, features[start:start + BLOCK]
        return
    with open(path, "rb") as handle:
        handle.seek(features.offset)
        for start in range(0, len(features), BLOCK):
            rows = min(BLOCK, len(features) - start)
            yield start, np.fromfile(handle, dtype=features.dtype, count=rows * features.shape[1]).reshape(rows, -1)


class Features:
    """Precomputed train (pool) and test features with their labels (with
    ``require_labels=False``, labels where the files have them, else -1)."""

    provides = "features"  # the backbone is skipped (lbal_bench.contracts.INPUT_KINDS)
    # not in cell fingerprints: require_labels changes no number (a run refuses missing
    # labels), and the files are identified by their content hash, not by where they are
    runtime_options = ("require_labels", "train", "test")

    def __init__(self, train: str | None = None, test: str | None = None,
                 num_classes: int | None = None, class_names: list[str] | None = None,
                 require_labels: bool = True):
        self.files = {}
        for split, value in (("train", train), ("test", test)):
            if not value:
                raise ValueError(f"option '{split}' is required: a {'/'.join(SUFFIXES)} file")
            path = Path(value).expanduser()
            if path.suffix not in SUFFIXES:
                raise ValueError(f"{split} file {path} must end in {', '.join(SUFFIXES)}")
            if not path.is_file():
                raise ValueError(f"{split} file {path} is missing")
            if path.suffix == ".npy" and require_labels and not labels_file(path).is_file():
                raise ValueError(f"{split} labels file {labels_file(path)} is missing")
            self.files[split] = path
        if class_names is not None and num_classes is not None and len(class_names) != num_classes:
            raise ValueError(f"class_names has {len(class_names)} names but num_classes is {num_classes}")
        self._num_classes = num_classes
        self._class_names = class_names
        self._require_labels = require_labels

    @functools.cached_property
    def _splits(self) -> dict[str, Split]:
        splits = {split: _read(path, self._require_labels) for split, path in self.files.items()}
        (train, _), (test, _) = splits["train"], splits["test"]
        if train.shape[1] != test.shape[1]:
            raise LbalError(f"{self.files['test']}: {test.shape[1]}-dimensional features, "
                            f"but {self.files['train']} has {train.shape[1]}")
        highest = max(int(labels.max(initial=-1)) for _, labels in splits.values())
        if self._num_classes is not None and highest >= self._num_classes:
            raise LbalError(f"{self.files['train']}: label {highest} is not below num_classes {self._num_classes}")
        return {split: Split(labels=labels, features=features) for split, (features, labels) in splits.items()}

    @property
    def num_classes(self) -> int:
        if self._num_classes is not None:
            return self._num_classes
        if self._class_names is not None:
            return len(self._class_names)
        return max(int(s.labels.max(initial=-1)) for s in self._splits.values()) + 1

    @property
    def class_names(self) -> list[str]:
        return list(self._class_names) if self._class_names is not None else [str(c) for c in range(self.num_classes)]

    def split(self, name: str) -> Split:
        if name not in self.files:
            raise LbalError(f"dataset 'features' has no split '{name}' (it has train, test)")
        return self._splits[name]

    @functools.cached_property
    def _fingerprint(self) -> dict:
        hashes = {}
        for split, path in self.files.items():
            hashes[split] = {"sha256": sha256_file(path)}
            if path.suffix == ".npy" and labels_file(path).is_file():
                hashes[split]["labels_sha256"] = sha256_file(labels_file(path))
        return {"name": "features", "version": 1, "files": hashes,
                "num_classes": self.num_classes, "class_names": self.class_names}

    def fingerprint(self) -> dict:
        return self._fingerprint


@hookimpl
def lbal_register_datasets(register):
    register("features", Features, description="your precomputed features (.npy/.npz/.safetensors) with labels",
             default_for=["features_file"])  # what `select emb.npy` reads a features file with
