"""Helpers for dataset plugins that read files from a local root.

- ``require``: the one-line error naming the file a dataset expected and did not find.
- ``files_digest`` / ``sha256_file``: what a dataset's fingerprint hashes (names and sizes
  of its files, or their content).
- ``ImageFiles``: a lazy, index-able list of image files (PIL RGB on access), the
  ``Split.images`` of every image-folder dataset; ``ImageArray``: the same for images
  held in memory as ``uint8 [N, H, W, C]``.
- ``read_list``: a text file of ``relative/path label`` lines (ImageNet-LT, DTD).

- ``FileDataset``: the base of datasets that are lists of image files with labels.

Nothing here imports torch: a DataLoader only needs ``len`` and ``[]``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..contracts import Split
from ..errors import LbalError


def require(
    dataset: str, root: str | Path, *relative: str, hint: str = "", kind: str = "file", option: str = "root",
) -> Path:
    """``root/relative…`` when it exists, else an ``LbalError`` naming what is missing:
    the root itself (the folder given by the dataset's ``option``), or the expected
    ``kind`` ("file", "folder") at its full path.

    ``hint`` (e.g. where to get the data) ends the message after a semicolon.
    """
    root = Path(root).expanduser()
    path = root.joinpath(*relative)
    if path.exists():
        return path
    if not root.exists():
        message = f"dataset '{dataset}': {option} {root} is missing"
    else:
        message = f"dataset '{dataset}': expected {kind} {path} is missing"
    raise LbalError(message + (f"; {hint}" if hint else ""))


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    """The SHA-256 of a file's content (read in 4 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def files_digest(root: str | Path, paths: Iterable[str | Path], content: bool = False, owner: str = "") -> dict:
    """``{"files": n, "bytes": total, "sha256": …}`` over ``paths`` relative to ``root``.

    The hash covers each relative path and size, and each file's content when
    ``content`` is true (small metadata files); a file changed in place keeps its name
    and usually its size, so hash content where that matters and is affordable. A
    missing file is an ``LbalError`` naming it (and ``owner``, e.g. the dataset).
    """
    root = Path(root)
    digest = hashlib.sha256()
    count = total = 0
    for path in paths:
        path = Path(path)
        full = path if path.is_absolute() else root / path
        try:
            size = full.stat().st_size
        except FileNotFoundError:
            raise LbalError(f"{owner + ': ' if owner else ''}expected file {full} is missing") from None
        name = full.relative_to(root) if full.is_relative_to(root) else full
        digest.update(f"{name.as_posix()}\0{size}\n".encode())
        if content:
            digest.update(sha256_file(full).encode())
        count, total = count + 1, total + size
    return {"files": count, "bytes": total, "sha256": digest.hexdigest()}


def read_list(path: Path, separator: str | None = None) -> list[tuple[str, str]]:
    """``(first field, rest)`` of each non-empty line of a list file; bad lines name the file and line."""
    entries = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(separator, 1)
            if len(parts) != 2 or not parts[1].strip():
                raise LbalError(f"{path}:{number}: expected '<file> <label>', got {line!r}")
            entries.append((parts[0], parts[1].strip()))
    return entries


def int_labels(path: Path, entries: list[tuple[str, str]]) -> np.ndarray:
    """The integer labels of ``read_list`` entries; a non-integer names the file and line."""
    labels = np.empty(len(entries), dtype=np.int64)
    for i, (_, label) in enumerate(entries):
        try:
            labels[i] = int(label)
        except ValueError:
            raise LbalError(f"{path}: entry {i + 1}: label {label!r} is not an integer") from None
    return labels


class ImageFiles(Sequence):
    """Image files opened on access as RGB ``PIL.Image`` (a map-style dataset for a DataLoader)."""

    def __init__(self, paths: Sequence[str | os.PathLike]):
        self.paths = [os.fspath(p) for p in paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        from PIL import Image, UnidentifiedImageError

        path = self.paths[index]
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError) as exc:
            raise LbalError(f"{path}: cannot read image ({exc})") from None


class ImageArray(Sequence):
    """Images held as ``uint8 [N, H, W, 3]``, returned as RGB ``PIL.Image`` on access."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index):
        from PIL import Image

        return Image.fromarray(self.pixels[index])


class FileDataset:
    """A dataset of image files with integer labels, per split, under a local ``root``.

    A subclass sets ``name`` (and ``version``, raised when its reading changes), checks
    what it can cheaply in ``__init__`` (with ``require``) and implements ``load``; the
    splits are read once, on first use. The fingerprint holds the name, version, each
    split's size and the names (relative to ``root``) and sizes of every image file, plus
    the content of ``metadata`` (list files, label files); not ``root`` itself, which is a
    ``runtime_option``: the same files under another root are the same cells and features.
    """

    name = ""
    version = 1
    provides = "pil_images"  # ImageFiles (lbal_bench.contracts.INPUT_KINDS)
    runtime_options = ("root",)

    def __init__(self, root: str | Path | None):
        if not root:
            raise ValueError("option 'root' is required: the folder holding the dataset")
        self.root = Path(root).expanduser()

    def load(self) -> tuple[dict[str, tuple[list[str], np.ndarray]], list[str], list[Path]]:
        """``({split: (image paths, int64 labels)}, class names, metadata files)``."""
        raise NotImplementedError

    @functools.cached_property
    def _loaded(self):
        return self.load()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_names(self) -> list[str]:
        return self._loaded[1]

    def split(self, name: str) -> Split:
        splits = self._loaded[0]
        if name not in splits:
            raise LbalError(f"dataset '{self.name}' has no split '{name}' (it has {', '.join(splits)})")
        paths, labels = splits[name]
        return Split(labels=labels, images=ImageFiles(paths))

    def fingerprint(self) -> dict:
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> dict:
        splits, _, metadata = self._loaded
        images = [p for paths, _ in splits.values() for p in paths]
        owner = f"dataset '{self.name}'"
        return {
            "name": self.name, "version": self.version,
            "splits": {name: len(labels) for name, (_, labels) in splits.items()},
            "images": files_digest(self.root, images, owner=owner),
            "metadata": files_digest(self.root, metadata, content=True, owner=owner),
        }
