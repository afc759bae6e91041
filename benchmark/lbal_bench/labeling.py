"""Choosing what to label next (``lbal-bench select``): the practitioner's path.

The steps, each a function the command calls in turn:

- ``open_source``: SOURCE is a folder of images (``lbal_bench.imagefolder``), a
  features file (the ``features`` dataset plugin with ``require_labels=False``: select
  never reads the pool's labels) or a registered dataset; its pool is the ``train``
  split. CSV files name points by ``path`` (relative to the folder) or ``index`` (into
  the pool).
- ``read_labeled``: the ``--labeled`` CSV files (earlier rounds' output, or any CSV with
  a ``path`` or ``index`` column and an optional ``label`` column).
- ``pool_features``: the pool's features through the feature cache, as in benchmark runs.
- ``select_points``: the sampler from the registry, given the labeled points as
  ``pool.labeled`` and an oracle holding only the labels of the CSV files; its answer is
  checked as the runner checks it. The generator is the runner's: ``seed`` for a first
  selection, ``[seed, labeled + budget]`` for a step after a labeled set, so ``select``
  picks what a benchmark cell with the same sampler, seed and labeled set picks.
- ``pick_clusters``: the cluster of every pick, defined for any sampler (below).
- ``write_picks``: the CSV to hand annotators.

**The cluster of a pick.** Every pool point goes to its nearest point (Euclidean, on the
L2-normalised features) among the picks and the labeled points; the points a pick gets
are its cluster (its Voronoi cell), so a pick stands for the unlabeled images most like
it that no labeled image or other pick stands for already. ``cluster_size`` counts them
(the pick included); ``distance`` is from the pick to their mean (the cluster's centre);
``rank`` orders the picks by cluster size, largest first (ties: smaller distance), so
annotators label first the images that stand for the most others. ``cluster`` is the
pick's position in the sampler's answer, which for ``kmeans`` is its K-means centre;
K-means picks the point nearest each centre, so these cells approximate its clusters,
but they are recomputed from the picks, the same way for every sampler.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from . import __version__
from .atomic import atomic_write_text
from .kit.compute import nearest
from .contracts import LabelLeakError
from .errors import LbalError
from .features import FeatureCache
from .imagefolder import ImageFolder
from .plugin_handle import Plugin, build_plugin, plugin_call
from .registry import PluginInfo, Registry, options_of
from .sampling import run_sampler
from .schedule import selection_rng
from .suite import PluginSpec

FEATURE_SUFFIXES = (".npy", ".npz", ".safetensors")
# Roles plugins declare themselves the default for (``register(..., default_for=...)``):
IMAGES_BACKBONE = "select_images"  # reference: resnet18 with torchvision's ImageNet weights
FEATURES_BACKBONE = "select_features"  # reference: pixels (precomputed features pass through; it names them in the cache)
FEATURES_FILE = "features_file"  # reference: the features dataset
SAMPLER = "select"  # reference: kmeans
COLUMNS = ("cluster", "cluster_size", "distance", "rank", "label")

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """What ``select`` picks from: the pool as a built dataset, and how CSV files name its points."""

    text: str
    dataset: Plugin
    folder: ImageFolder | None = None

    @property
    def column(self) -> str:
        """The CSV column naming a point: ``path`` for a folder, else ``index``."""
        return "path" if self.folder else "index"

    def __len__(self) -> int:
        return len(self.dataset.obj.split("train"))

    def name(self, index: int) -> str:
        """How CSV files name pool point ``index``."""
        return self.folder.paths[index] if self.folder else str(index)

    def lookup(self, value: str, where: str) -> int:
        """The pool index a CSV entry names; ``where`` (``file:line``) starts the error otherwise."""
        value = value.strip()
        if self.folder is None:
            try:
                index = int(value)
            except ValueError:
                raise LbalError(f"{where}: index '{value}' is not an integer") from None
            if not 0 <= index < len(self):
                raise LbalError(f"{where}: index {index} is outside the pool of {len(self)} points of {self.text}")
            return index
        path = Path(value).expanduser()
        if path.is_absolute() and path.resolve().is_relative_to(self.folder.root):
            value = path.resolve().relative_to(self.folder.root).as_posix()
        index = self._positions.get(Path(value).as_posix())
        if index is None:
            reason = dict(self.folder.skipped).get(value)
            detail = f"it was skipped: {reason}" if reason else "no such image"
            raise LbalError(f"{where}: '{value}' is not an image of {self.text} ({detail})")
        return index

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.folder.paths)}


def open_source(text: str, registry: Registry, options: dict, cache: FeatureCache,
                progress: Callable[[int, int], None] | None = None) -> Source:
    """SOURCE as a ``Source``: an existing folder, a features file, else a registered dataset
    name (``options`` are its options; the registry suggests a name for a typo)."""
    path = Path(text).expanduser()
    if path.is_dir():
        if options:
            raise LbalError(f"{text} is a folder of images: it takes no dataset options ({', '.join(options)})")
        folder = ImageFolder(path, cache.root.parent, progress)
        info = PluginInfo(name="folder", kind="dataset", factory=ImageFolder, distribution="lbal-bench",
                          version=__version__, entry_point="lbal_bench.imagefolder")
        return Source(text, Plugin(PluginSpec(name="folder"), info, folder), folder)
    if path.suffix in FEATURE_SUFFIXES:
        if not path.is_file():
            raise LbalError(f"{text}: no such features file")
        options = {"train": text, "test": text, "require_labels": False, **options}
        name, _ = registry.default("dataset", FEATURES_FILE, "a dataset plugin name instead of a features file")
        return Source(text, build_plugin(registry, "dataset", name, options))
    if "/" in text or "\\" in text:
        raise LbalError(f"{text}: no such folder or features file ({', '.join(FEATURE_SUFFIXES)})")
    return Source(text, build_plugin(registry, "dataset", text, options))


def choose_backbone(holds_features: bool, name: str | None, options: dict, registry: Registry) -> tuple[str, dict]:
    """The backbone's name and options: ``name`` if given; else the backbone declared the
    default for a source that holds features (reference plugins: ``pixels``) or for images
    (``resnet18`` with torchvision's ImageNet weights; the paper's CompRess weights cannot
    be fetched automatically, ``-b weights=FILE`` uses them).
    A backbone with DataLoader ``workers`` gets as many as this machine's cores allow
    (unless ``-b workers=N`` says otherwise): worker processes cost more than they give
    on a machine with few cores."""
    if not name:
        name, declared = registry.default("backbone", FEATURES_BACKBONE if holds_features else IMAGES_BACKBONE,
                                          "--backbone NAME")
        options = {**declared, **options}
    try:
        parameters = {o.name for o in options_of(registry.get("backbone", name).factory)}
    except LbalError:
        parameters = set()
    if "workers" in parameters and "workers" not in options:
        options = {**options, "workers": default_workers()}
    return name, options


def default_workers() -> int:
    """DataLoader workers for ``select``: one core less than this process may use, at most 4
    (none on a single core: the main process then decodes)."""
    from .executors import cpu_count

    return max(0, min(4, cpu_count() - 1))


def _hinted(default: bool, call: Callable[[], T]) -> T:
    """``call()``; when the backbone was not named (``default``), a failure also says how to name one."""
    try:
        return call()
    except LbalError as exc:
        if not default:
            raise
        raise LbalError(f"{exc}; or choose the features: --backbone NAME -b weights=CHECKPOINT "
                        "(the paper: resnet18 with CompRess weights)") from None


def check_backbone(backbone: Plugin, default: bool) -> None:
    """Fail now, before any image is read, when the backbone cannot identify its weights
    (a missing weights file, torchvision weights not in the hub cache)."""
    _hinted(default, lambda: plugin_call(backbone, "fingerprint", backbone.obj.fingerprint))


def check_sampler(sampler: Plugin) -> None:
    """Refuse, before any slow work, a sampler that cannot pick here: one that reads the
    label of every pool point (``uses_labels``), where only the ``--labeled`` labels exist."""
    if sampler.flag("uses_labels"):
        raise LbalError(f"sampler '{sampler.spec.name}' reads the label of every pool point (uses_labels); "
                        "select knows only the labels given with --labeled")


def pool_features(source: Source, backbone: Plugin, cache: FeatureCache, default: bool,
                  progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, bool]:
    """``(features, cached)``: the pool's L2-normalised features from the feature cache, and
    whether they were there already (else they are extracted now). ``default``: the
    backbone was not named, so a missing-weights error also says how to name one."""
    def features() -> tuple[np.ndarray, bool]:
        cached = cache.has(source.dataset, backbone, "train")
        return plugin_call(backbone, "embed", lambda: cache.get(source.dataset, backbone, "train", progress)), cached

    return _hinted(default, features)


@dataclass(frozen=True)
class Labeled:
    """The points labeled already: pool indices (sorted, unique) and, when the CSV files
    give them, their labels (class ids ``0..len(names)-1`` and the class names)."""

    indices: np.ndarray
    labels: np.ndarray | None
    names: list[str]


NOTHING_LABELED = Labeled(np.empty(0, dtype=np.int64), None, [])


def _csv_text(file: Path) -> str:
    """The text of a CSV file: UTF-8 (with or without a byte-order mark), else Windows-1252,
    as spreadsheets save CSV on Windows; an ``LbalError`` when it is neither."""
    raw = Path(file).read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            problem = exc
    raise LbalError(f"{file}: not a text file in UTF-8 or Windows-1252 (byte 0x{raw[problem.start]:02x} "
                    f"at offset {problem.start}); save it as UTF-8 CSV")


def read_labeled(files: list[Path], source: Source) -> Labeled:
    """The points the ``--labeled`` CSV files name. Labels count when every row gives one
    (a ``label`` column filled in); a label missing in some rows only, an entry not in the
    source, or a point given two labels is an error naming the file and line."""
    entries: dict[int, tuple[str, str]] = {}  # index -> (label, where)
    for file in files:
        try:
            with io.StringIO(_csv_text(file), newline="") as handle:
                reader = csv.DictReader(handle)
                fields = reader.fieldnames or []
                if source.column not in fields:
                    raise LbalError(f"{file}: no '{source.column}' column (found: {', '.join(fields) or 'nothing'})")
                for row in reader:
                    where = f"{file}:{reader.line_num}"
                    index = source.lookup(row[source.column] or "", where)
                    label = (row.get("label") or "").strip()
                    if index in entries and entries[index][0] != label:
                        raise LbalError(f"{where}: '{source.name(index)}' is labeled '{label}' here but "
                                        f"'{entries[index][0]}' at {entries[index][1]}")
                    entries.setdefault(index, (label, where))
        except OSError as exc:
            raise LbalError(f"{file}: cannot read ({exc.strerror or exc})") from None
        except csv.Error as exc:
            raise LbalError(f"{file}: not a CSV file ({exc})") from None
    if not entries:
        return NOTHING_LABELED
    indices = np.array(sorted(entries), dtype=np.int64)
    given = [entries[i][0] for i in indices]
    if not any(given):
        return Labeled(indices, None, [])
    if not all(given):
        missing = entries[int(indices[given.index("")])][1]
        raise LbalError(f"{missing}: no label (give a label in every row of --labeled, or in none)")
    names = sorted(set(given))
    return Labeled(indices, np.array([names.index(g) for g in given], dtype=np.int64), names)


def select_points(features: np.ndarray, sampler: Plugin, budget: int, seed: int, labeled: Labeled,
                  num_classes: int) -> np.ndarray:
    """The sampler's ``budget`` picks (int64), none of them labeled, checked as the runner
    checks them. Its oracle reveals the ``--labeled`` labels only; a sampler that reads
    every label (``uses_labels``) cannot work here. ``num_classes`` is 0 when unknown (a
    folder, or a features file without labels): a sampler failing then is told about ``--classes``."""
    name = sampler.spec.name
    check_sampler(sampler)
    unlabeled = len(features) - len(labeled.indices)
    if budget > unlabeled:
        raise LbalError(f"--budget {budget} is more than the {unlabeled} unlabeled points of the pool")
    labels = np.full(len(features), -1, dtype=np.int64)
    revealed = np.empty(0, dtype=np.int64)
    if labeled.labels is not None:
        labels[labeled.indices] = labeled.labels
        revealed = labeled.indices
    rng = selection_rng(seed, len(labeled.indices) + budget, len(labeled.indices))
    try:
        return run_sampler(sampler, features, labels, labeled.indices, num_classes, budget, rng, revealed).indices
    except LbalError as exc:
        if isinstance(exc.__cause__, LabelLeakError):
            raise LbalError(f"sampler '{name}' reads the labels of the labeled points: "
                            "give them in a 'label' column of the --labeled file") from None
        if not num_classes and exc.__cause__ is not None:  # a plugin's own failure, perhaps for want of classes
            raise LbalError(f"{exc} (the number of classes is unknown here: if the sampler needs it, "
                            "give --classes N)") from exc.__cause__
        raise


@dataclass(frozen=True)
class Clusters:
    """The picks in rank order with their cluster (see the module docstring); ``assign``
    maps every pool point to its nearest pick (``cluster`` ids) or labeled point (ids from
    the number of picks on)."""

    picks: np.ndarray
    cluster: np.ndarray
    size: np.ndarray
    distance: np.ndarray
    rank: np.ndarray
    assign: np.ndarray


def pick_clusters(features: np.ndarray, picks: np.ndarray, labeled: np.ndarray) -> Clusters:
    """Every pick's cluster: the pool points nearer to it than to any other pick or labeled
    point; its size, the pick's distance to the cluster's mean, and the rank by size."""
    from scipy import sparse

    sites = np.concatenate([picks, labeled]).astype(np.int64)
    assign = nearest(np.asarray(features[sites]), features, 1)[1][:, 0].astype(np.int64)
    assign[sites] = np.arange(len(sites))  # a point is its own nearest site, also among duplicate rows
    members = np.flatnonzero(assign < len(picks))
    one_hot = sparse.csr_matrix((np.ones(len(members)), (assign[members], members)), shape=(len(picks), len(features)))
    size = np.bincount(assign[members], minlength=len(picks))
    centres = np.asarray(one_hot @ features) / size[:, None]
    distance = np.linalg.norm(np.asarray(features[picks]) - centres, axis=1)
    order = np.lexsort((picks, distance, -size))
    return Clusters(picks=picks[order], cluster=order.astype(np.int64), size=size[order], distance=distance[order],
                    rank=np.arange(1, len(picks) + 1), assign=assign)


def cell_members(features: np.ndarray, clusters: Clusters, count: int) -> list[np.ndarray]:
    """For each pick (rank order), up to ``count`` other points of its cluster, nearest first."""
    order = np.argsort(clusters.assign, kind="stable")
    bounds = np.searchsorted(clusters.assign[order], np.arange(len(clusters.picks) + 1))
    found = []
    for cluster, pick in zip(clusters.cluster, clusters.picks):
        cell = order[bounds[cluster]:bounds[cluster + 1]]
        cell = cell[cell != pick]
        distances = ((np.asarray(features[cell]) - np.asarray(features[pick])) ** 2).sum(axis=1)
        found.append(cell[np.argsort(distances, kind="stable")[:count]])
    return found


def write_picks(path: Path, source: Source, clusters: Clusters) -> None:
    """The CSV for annotators, one row per pick in rank order: the point (``path`` or
    ``index``), ``cluster``, ``cluster_size``, ``distance``, ``rank`` and an empty ``label``
    column to fill in (the file is then the next round's ``--labeled``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((source.column, *COLUMNS))
    for row in zip(clusters.picks, clusters.cluster, clusters.size, clusters.distance, clusters.rank):
        pick, cluster, size, distance, rank = row
        writer.writerow((source.name(int(pick)), int(cluster), int(size), f"{distance:.6f}", int(rank), ""))
    atomic_write_text(path, out.getvalue())
