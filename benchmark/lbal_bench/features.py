"""Feature extraction and the on-disk feature cache.

Features are computed once per (dataset, backbone, split), L2-normalised, stored as
``<key>.npy`` and memory-mapped on every later use (once per process). Writers take a file lock, so
processes sharing a cache directory never compute or write the same entry twice.

Extraction goes in shards of ``shard_size`` items, each written atomically to
``<key>.parts/`` as it completes, so a killed extraction resumes from its finished
shards; the shards are then streamed into ``<key>.npy`` (never all in memory) and
removed. A backbone whose ``features_dtype`` is ``"float16"`` has its features stored
as float16 (half the disk; the key includes the dtype); they are read back as float32
(then held in memory, not memory-mapped). ``<key>.json`` beside each entry says what
it holds (``lbal-bench cache ls``).

:func:`input_problem` says, from the plugins' declarations alone (a dataset's
``provides``, a backbone's ``accepts``: ``lbal_bench.contracts.INPUT_KINDS``), when a
backbone cannot embed what a dataset holds, so that the pair is refused before any work.

The cache lives in ``$LBAL_CACHE_DIR`` if set, else in the platform's user cache
directory (``platformdirs``), under ``features/``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
from platformdirs import user_cache_dir

from .atomic import atomic_write, atomic_write_text, remove_orphans
from .contracts import FEATURES, INPUT_KINDS
from .guard import declared_kinds, describe, kinds
from .plugin_handle import Plugin, fingerprint, plugin_call
from .errors import LbalError
from .faults import pause_point
from .locks import locked
from .provenance import now
from .registry import Registry

SHARD_SIZE = 32768  # items per resumable extraction shard


def default_cache_dir() -> Path:
    """``$LBAL_CACHE_DIR`` or the user cache directory for lbal-bench."""
    return Path(os.environ.get("LBAL_CACHE_DIR") or user_cache_dir("lbal-bench"))


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, as float32 (zero rows stay zero). Computed in float64,
    each row first divided by its largest magnitude, so that no norm overflows (float32
    rows of 3e38, float64 rows of 1e300) or underflows."""
    x = np.asarray(x, dtype=np.float64)
    scale = np.abs(x).max(axis=1, keepdims=True) if x.size else np.ones((len(x), 1))
    scaled = x / np.where(scale > 0, scale, 1.0)
    norms = np.linalg.norm(scaled, axis=1, keepdims=True)
    return (scaled / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _words(names: tuple[str, ...]) -> str:
    """``PIL images``, ``image arrays or PIL images``: kinds as a user reads them."""
    return " or ".join(INPUT_KINDS.get(kind, kind) for kind in names)


def declared(plugin: Plugin, name: str) -> tuple[str, ...] | None:
    """What ``plugin`` declares as ``name`` (``provides``, ``accepts``), checked
    (``guard.declared_kinds``); an error naming the plugin when reading it fails."""
    return plugin_call(plugin, name, lambda: declared_kinds(plugin, name))


def input_problem(dataset: Plugin, backbone: Plugin, registry: Registry | None = None) -> str | None:
    """Why ``backbone`` cannot embed what ``dataset`` holds, by their declarations
    (``provides``, ``accepts``); None when it can, when the dataset holds precomputed
    features (the backbone is then skipped), or when either declares nothing (then
    nothing is checked). With ``registry``, the line ends with the installed backbones
    that do take the dataset's kind."""
    given, taken = declared(dataset, "provides"), declared(backbone, "accepts")
    if given is None or taken is None or given[0] == FEATURES or given[0] in taken:
        return None
    kind = given[0]
    hint = ""
    if registry is not None:
        able = [info.name for info in registry.all() if info.kind == "backbone" and kind in _class_kinds(info.factory)]
        hint = f" (backbones that take {_words(given)}: {', '.join(able)})" if able else ""
    return f"{describe(backbone)} takes {_words(taken)}, but {describe(dataset)} gives {_words(given)}{hint}"


def _class_kinds(factory: Any) -> tuple:
    """The kinds a backbone factory (a class) declares as ``accepts`` (``guard.kinds``);
    empty when it declares none or not validly."""
    return (kinds(getattr(factory, "accepts", None), "accepts") or ()) if isinstance(factory, type) else ()


class FeatureCache:
    """L2-normalised features per (dataset, backbone, split), computed once."""

    def __init__(self, root: Path | None = None, shard_size: int = SHARD_SIZE):
        self.root = (Path(root) if root else default_cache_dir()) / "features"
        self.shard_size = shard_size

    def key(self, dataset: Plugin, backbone: Plugin, split: str) -> str:
        return fingerprint({
            "dataset": dataset.obj.fingerprint(),
            "backbone": backbone.obj.fingerprint(),
            "split": split,
            "dtype": storage_dtype(backbone),
        })

    def path(self, dataset: Plugin, backbone: Plugin, split: str) -> Path:
        return self.root / f"{self.key(dataset, backbone, split)}.npy"

    def has(self, dataset: Plugin, backbone: Plugin, split: str) -> bool:
        return self.path(dataset, backbone, split).exists()

    def get(
        self,
        dataset: Plugin,
        backbone: Plugin,
        split: str,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """The features of ``split``, read-only and memory-mapped; extracted on first use."""
        path = self.path(dataset, backbone, split)
        if not path.exists():
            with locked(Path(str(path) + ".lock")):
                if not path.exists():
                    for folder in (self.root, path.with_suffix(".parts")):
                        remove_orphans(folder)  # temp files of a killed extraction
                    self._extract(dataset, backbone, split, path, progress)
        return _opened(path, self.shard_size)

    def _extract(self, dataset: Plugin, backbone: Plugin, split: str, path: Path, progress) -> None:
        data = dataset.obj.split(split)
        where = f"dataset '{dataset.spec.display}' ({split}) with backbone '{backbone.spec.display}'"
        if not len(data):
            raise LbalError(f"{where}: the split is empty")
        dtype = np.dtype(storage_dtype(backbone))
        parts = path.with_suffix(".parts")
        shards, width = [], None
        for start in range(0, len(data), self.shard_size):
            stop = min(start + self.shard_size, len(data))
            shard = parts / f"{start:010d}-{stop:010d}.npy"
            if not shard.exists():
                if data.features is not None:
                    raw = data.features[start:stop]
                else:
                    raw = backbone.obj.embed(_items(data.images, start, stop), progress=progress)
                features = l2_normalise(_checked(np.asarray(raw), stop - start, where))
                atomic_write(shard, lambda out, f=features.astype(dtype): np.save(out, f))
            elif progress is not None:
                progress(stop - start)  # resumed: done in an earlier, interrupted run
            shape = np.load(shard, mmap_mode="r").shape
            if width is not None and shape[1] != width:
                raise LbalError(f"{where}: shard {shard.name} has {shape[1]} dimensions, earlier ones {width}")
            shards, width = shards + [shard], shape[1]
        pause_point("extract", path)
        atomic_write(path, lambda out: _concatenate(out, shards, (len(data), width), dtype))
        atomic_write_text(path.with_suffix(".json"), json.dumps({
            "dataset": dataset.obj.fingerprint(),
            "backbone": backbone.obj.fingerprint(),
            "split": split,
            "shape": [len(data), width],
            "dtype": dtype.name,
            "names": {"dataset": dataset.spec.display, "backbone": backbone.spec.display},
            "source": _source(dataset, split),
            "created": now(),
        }, indent=2, default=str))
        shutil.rmtree(parts, ignore_errors=True)

    def entries(self) -> list[dict]:
        """Every cache entry: key, path, bytes, and what its ``.json`` says; unfinished
        extractions with ``"partial": [shards done, shard files]``."""
        found = []
        for path in sorted(self.root.glob("*.npy")):
            try:
                info = json.loads(path.with_suffix(".json").read_text())
            except (OSError, ValueError):
                info = {}
            found.append({**info, "key": path.stem, "path": str(path), "bytes": path.stat().st_size})
        for parts in sorted(self.root.glob("*.parts")):
            if not parts.with_suffix(".npy").exists():
                shards = list(parts.glob("*.npy"))
                found.append({"key": parts.stem, "path": str(parts), "partial": len(shards),
                              "bytes": sum(p.stat().st_size for p in shards)})
        return found

    def remove(self, key: str) -> None:
        """Delete one entry (or unfinished extraction) by key, under its lock."""
        path = self.root / f"{key}.npy"
        with locked(Path(str(path) + ".lock")):
            for leftover in (path, path.with_suffix(".json")):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(path.with_suffix(".parts"), ignore_errors=True)


_OPENED: dict[Path, tuple[tuple, np.ndarray]] = {}


def _opened(path: Path, shard_size: int) -> np.ndarray:
    """The features stored at ``path``, opened once per process and shared by every later
    call (opened again when the file was replaced): memory-mapped when float32, one float32
    copy in memory when float16."""
    path = path.resolve()
    stat = path.stat()
    stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    if path in _OPENED and _OPENED[path][0] == stamp:
        return _OPENED[path][1]
    features = np.load(path, mmap_mode="r")
    if features.dtype != np.float32:
        features = _read_only_float32(features, shard_size)
    _OPENED[path] = (stamp, features)
    return features


def _read_only_float32(stored: np.ndarray, shard_size: int) -> np.ndarray:
    """One float32 copy of ``stored`` (float16 on disk) in memory, over a read-only buffer:
    as with a memory-mapped float32 file, a sampler cannot make it writable again
    (``setflags(write=True)`` fails) and so cannot change the features later cells see."""
    buffer = bytearray(int(np.prod(stored.shape)) * 4)
    out = np.frombuffer(buffer, dtype=np.float32).reshape(stored.shape)
    for start in range(0, len(out), shard_size):
        out[start:start + shard_size] = stored[start:start + shard_size]
    return np.frombuffer(memoryview(buffer).toreadonly(), dtype=np.float32).reshape(stored.shape)


def _source(dataset: Plugin, split: str) -> str:
    """The file or folder the split was read from, when the dataset names one (the
    ``features`` dataset's file of that split, a ``root``, a folder of images), else ``""``:
    what ``cache ls`` shows beside the dataset's name."""
    options = dataset.spec.options
    found = options.get(split) or options.get("root") or getattr(dataset.obj, "root", None)
    return str(found) if isinstance(found, (str, Path)) else ""


def storage_dtype(backbone: Plugin) -> str:
    """The dtype features of ``backbone`` are stored in: its ``features_dtype`` (default float32)."""
    dtype = str(getattr(backbone.obj, "features_dtype", "float32"))
    if dtype not in ("float32", "float16"):
        raise LbalError(f"backbone '{backbone.spec.display}': features_dtype must be float32 or float16, got {dtype!r}")
    return dtype


def _items(images, start: int, stop: int):
    """Items ``start:stop`` of ``images``: a slice of an array, else a lazy view."""
    return images[start:stop] if isinstance(images, np.ndarray) else _View(images, start, stop)


class _View(Sequence):
    """Items ``start:stop`` of an index-able collection (e.g. a torch Dataset), not copied."""

    def __init__(self, items, start: int, stop: int):
        self.items, self.start, self.stop = items, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index: int):
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.items[self.start + index % len(self)]


def _checked(features: np.ndarray, count: int, where: str) -> np.ndarray:
    """Raw features (before normalisation, in the dtype the backbone or dataset gave), or
    an ``LbalError`` saying what is wrong with them: shape, type, NaN or infinite values
    (in that dtype: a float64 1e300 is finite), or every vector zero (nothing to select on)."""
    if features.ndim != 2 or len(features) != count:
        raise LbalError(f"{where}: expected features of shape [{count}, D], got {list(features.shape)}")
    if features.dtype == bool or not np.issubdtype(features.dtype, np.number) or np.iscomplexobj(features):
        raise LbalError(f"{where}: features must be real numbers, got {features.dtype}")
    if not np.isfinite(features).all():
        bad = int((~np.isfinite(features).all(axis=1)).sum())
        raise LbalError(f"{where}: {bad} feature vector(s) contain NaN or infinite values")
    if features.size and not features.any():
        raise LbalError(f"{where}: every feature vector is zero (the features carry no information: "
                        "check the backbone's weights and the images)")
    return features


def _concatenate(out: BinaryIO, shards: list[Path], shape: tuple[int, int], dtype: np.dtype) -> None:
    """Write the ``.npy`` of the shards stacked, one shard in memory at a time."""
    np.lib.format.write_array_header_1_0(
        out, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    for shard in shards:
        out.write(np.ascontiguousarray(np.load(shard), dtype=dtype).tobytes())
