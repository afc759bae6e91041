"""A folder of unlabeled images as the pool of a dataset (``lbal-bench select FOLDER``).

The folder is scanned recursively. Files with an image suffix (``IMAGE_SUFFIXES``, any
case) are probed: each is opened and decoded with PIL (JPEGs at reduced scale, which
still reads every byte) and converted to RGB, as the backbone will; a file that fails
is skipped with the reason. Other files are skipped as "not an image". Hidden files and
folders (names starting with ``.``) are ignored. Nothing is fatal except a folder with
no readable image.

The pool is the readable images in sorted relative-path order. The fingerprint holds the
folder and, for every file with an image suffix, its relative path, size and
modification time, so the features go through the same feature cache as benchmark
runs and a file added, removed or edited gives new features. The probe's outcome is
stored under ``<cache dir>/folders/<hash>.json`` by the same fingerprint, so a second
``select`` on an unchanged folder neither decodes nor embeds anything; ``lbal-bench
cache ls`` counts these records and ``cache rm --all`` deletes them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import atomic_write_text, remove_orphans
from .contracts import Split
from .kit.datafiles import ImageFiles
from .errors import LbalError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
VERSION = 1  # raise when what the probe accepts changes
RECORDS = "folders"  # the probe records' folder in the cache directory, beside ``features/``


def scan_records(cache_dir: Path) -> list[Path]:
    """The probe records kept in ``cache_dir``, one per scanned state of a folder."""
    return sorted((Path(cache_dir) / RECORDS).glob("*.json"))


def remove_scan_records(cache_dir: Path) -> int:
    """Delete every probe record in ``cache_dir`` (and temp files of killed writers);
    return how many records went. A later scan probes its folder again."""
    records = scan_records(cache_dir)
    for record in records:
        record.unlink(missing_ok=True)
    remove_orphans(Path(cache_dir) / RECORDS)
    return len(records)


def probe(path: Path) -> str | None:
    """Why ``path`` cannot be used as an image (``"cannot read (…)"``), or None."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft("RGB", (64, 64))  # JPEG: decode at 1/8 scale; other formats ignore it
            image.load()
            image.convert("RGB")
    except Exception as exc:  # PIL raises many kinds (OSError, SyntaxError, ValueError, DecompressionBombError)
        return f"cannot read ({str(exc) or type(exc).__name__})"
    return None


def _scan(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """``(files with an image suffix, (other file, why it is left out))``: relative posix
    paths, sorted; hidden ones left out, and links whose target is gone."""
    images, others = [], []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            relative = (Path(folder) / name).relative_to(root).as_posix()
            if not os.path.exists(Path(folder) / name):
                others.append((relative, "broken link (its target does not exist)"))
            elif Path(name).suffix.lower() in IMAGE_SUFFIXES:
                images.append(relative)
            else:
                others.append((relative, f"not an image ({Path(name).suffix or 'no suffix'})"))
    return sorted(images), sorted(others)


class ImageFolder:
    """The readable images under ``root`` as a dataset with one split, ``train`` (the pool).

    ``paths`` are the images' paths relative to ``root``; ``skipped`` lists
    ``(relative path, reason)`` of every file left out. ``cache_dir`` keeps the probe's
    outcome; ``progress(done, total)`` is called as files are probed. There are no labels: the split's are -1.
    """

    provides = "pil_images"  # ImageFiles (lbal_bench.contracts.INPUT_KINDS)
    num_classes = 0
    class_names: list[str] = []

    def __init__(self, root: str | Path, cache_dir: Path, progress: Callable[[int, int], None] | None = None):
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise LbalError(f"{root}: not a folder")
        candidates, others = _scan(self.root)
        digest = hashlib.sha256(f"{VERSION}\0{self.root}\n".encode())
        for relative in candidates:
            stat = (self.root / relative).stat()
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        self._fingerprint = {"name": "folder", "version": VERSION, "root": str(self.root),
                             "files": len(candidates), "sha256": digest.hexdigest()}
        unreadable = self._probed(candidates, Path(cache_dir) / RECORDS / f"{digest.hexdigest()[:24]}.json", progress)
        bad = dict(unreadable)
        self.paths = [p for p in candidates if p not in bad]
        self.skipped = sorted([*unreadable, *others])
        if not self.paths:
            raise LbalError(f"{root}: no readable image ({', '.join(IMAGE_SUFFIXES)}) in the folder or below it")

    def _probed(self, candidates: list[str], record: Path, progress) -> list[tuple[str, str]]:
        """``(path, reason)`` of the candidates PIL cannot read: from ``record`` when an
        earlier scan of the same files stored it, else probed (in threads) and stored."""
        try:
            return [tuple(item) for item in json.loads(record.read_text())["unreadable"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not probed yet (or the record is damaged): probe again
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            reasons = []
            for reason in pool.map(probe, (self.root / p for p in candidates)):
                reasons.append(reason)
                if progress is not None:
                    progress(len(reasons), len(candidates))
        unreadable = [(p, r) for p, r in zip(candidates, reasons) if r is not None]
        atomic_write_text(record, json.dumps({"root": str(self.root), "unreadable": unreadable}, indent=1))
        return unreadable

    def fingerprint(self) -> dict:
        """The folder, and the relative path, size and modification time of every image file."""
        return self._fingerprint

    @functools.cached_property
    def _train(self) -> Split:
        return Split(labels=np.full(len(self.paths), -1, dtype=np.int64),
                     images=ImageFiles([self.root / p for p in self.paths]))

    def split(self, name: str) -> Split:
        """The pool (``train``); a folder has no other split."""
        if name != "train":
            raise LbalError(f"folder {self.root} has no split '{name}' (it is one unlabeled pool)")
        return self._train
