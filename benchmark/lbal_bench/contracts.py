"""The plugin contracts: what datasets, backbones, samplers and evaluators must provide.

Everything crosses these boundaries as numpy arrays. Plugins need not subclass anything:
the Protocols document the attributes and methods the core calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Split:
    """One split of a dataset: labels plus either images or precomputed features.

    ``images`` is anything the backbone's ``embed`` accepts (an array ``[N, ...]`` or a
    torch Dataset); ``features`` is ``float32 [N, D]`` when the dataset already holds
    embeddings (then the backbone is skipped).
    """

    labels: np.ndarray
    images: Any = None
    features: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)


# What a dataset's splits hold and what a backbone's ``embed`` takes, as plain strings: a
# dataset declares the one it gives as ``provides``, a backbone those it takes as
# ``accepts`` (a tuple), and a suite pairing a backbone with a dataset it cannot embed is
# refused before any work (``lbal-bench validate``, ``run``, ``features``, ``select``).
# A plugin that declares nothing is not checked. Packages may add kinds of their own.
IMAGE_ARRAYS = "image_arrays"  # numeric arrays [N, H, W] or [N, H, W, C] (scikit-learn's 8x8 digits)
PIL_IMAGES = "pil_images"      # a sequence of RGB PIL images of any size (image files, CIFAR)
FEATURES = "features"          # precomputed features float32 [N, D]: the backbone is skipped
INPUT_KINDS = {IMAGE_ARRAYS: "image arrays", PIL_IMAGES: "PIL images", FEATURES: "precomputed features"}


@runtime_checkable
class Dataset(Protocol):
    """A labelled dataset with a train split (the unlabeled pool) and a test split.

    ``provides`` (optional): what its splits hold, one of ``INPUT_KINDS`` (or a kind of
    the plugin's own), e.g. ``provides = "pil_images"``; undeclared, no backbone is
    checked against it.
    """

    num_classes: int
    class_names: Sequence[str]

    def fingerprint(self) -> dict:
        """What identifies the data: name, version, root and a hash of its files."""

    def split(self, name: str) -> Split:
        """Return the ``"train"`` or ``"test"`` split."""


@runtime_checkable
class Backbone(Protocol):
    """A frozen feature extractor.

    ``accepts`` (optional): the kinds of ``INPUT_KINDS`` its ``embed`` takes, as a tuple,
    e.g. ``accepts = ("pil_images",)``; undeclared, it is paired with any dataset. A
    dataset that provides ``"features"`` skips the backbone, so it pairs with every one.
    """

    def fingerprint(self) -> dict:
        """What identifies the features: architecture, weights hash, transform."""

    def embed(self, images: Any, progress: Any = None) -> np.ndarray:
        """Embed ``images`` into ``float32 [N, D]`` (the core L2-normalises the result).

        ``progress(n)`` may be called after each batch with the number of images done.
        """


class LabelLeakError(PermissionError):
    """Raised when a sampler asks the oracle for labels it is not allowed to see."""


class LabelOracle:
    """Reveals labels of the labeled set only, unless the sampler declared ``uses_labels``.

    The oracle keeps only the labels it may reveal (the others are not copied in), in a
    closure rather than an attribute: nothing reachable from it or from the pool (its
    attributes, ``vars``, closure cells, ``gc.get_referents``) holds the label of an
    unlabeled point. Every label handed out is counted; the record stores the count.
    """

    def __init__(self, labels: np.ndarray, labeled: np.ndarray, reveal_all: bool = False):
        allowed = np.zeros(len(labels), dtype=bool)
        allowed[labeled] = True
        allowed |= reveal_all
        frozen = np.where(allowed, np.asarray(labels, dtype=np.int64), -1)  # hidden labels never enter
        frozen.setflags(write=False)
        allowed.setflags(write=False)
        requests = [0]

        def reveal(indices: np.ndarray) -> np.ndarray:
            indices = np.asarray(indices, dtype=np.int64)
            if not allowed[indices].all():
                hidden = int((~allowed[indices]).sum())
                raise LabelLeakError(
                    f"asked for the labels of {hidden} unlabeled point(s) "
                    "without declaring uses_labels = True"
                )
            requests[0] += len(indices)
            return frozen[indices]

        reveal.__doc__ = "Labels of ``indices`` (int64); labeled points only."
        self.labels = reveal
        self.requests = lambda: requests[0]


@dataclass(frozen=True)
class Pool:
    """What a sampler sees: the pool's L2-normalised features and what is labeled so far.

    ``info`` starts empty; a sampler may put plain JSON values in it that say how it
    chose (ProbCover's ``delta`` and the ``purity`` it reached): the runner stores them
    with the selection and in every record built on it (``selection.info``).
    """

    features: np.ndarray
    labeled: np.ndarray
    num_classes: int
    oracle: LabelOracle = field(repr=False)
    info: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def unlabeled(self) -> np.ndarray:
        """Indices of the points not labeled yet."""
        mask = np.ones(len(self.features), dtype=bool)
        mask[self.labeled] = False
        return np.flatnonzero(mask)


def selection_problems(indices: Any, budget: int, pool: Pool) -> dict[str, str]:
    """Every rule ``indices`` breaks as the answer of ``select(pool, budget, rng)``: rule
    (``shape``, ``count``, ``range``, ``unique``, ``labeled``, in that order) → what is
    wrong, worded to follow the sampler's name (``"returned index 7 more than once"``);
    empty when the answer is valid.

    A valid answer is exactly ``budget`` unique integer indices into the pool, none of
    them labeled yet. The runner, ``select`` and the conformance checks all judge by it.
    A 1-D array of non-integer numbers breaks ``shape`` and is judged by the other rules
    as cast to integers.
    """
    indices = np.asarray(indices)
    problems = {}
    if indices.ndim != 1 or not (indices.size == 0 or np.issubdtype(indices.dtype, np.integer)):
        problems["shape"] = f"must return a 1-D array of integer indices, got {indices.dtype} {list(indices.shape)}"
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.number):
            return problems  # nothing else can be judged
    indices = indices.astype(np.int64)
    if len(indices) != budget:
        problems["count"] = f"returned {len(indices)} indices for a budget of {budget}"
    size = len(pool.features)
    outside = indices[(indices < 0) | (indices >= size)]
    if len(outside):
        problems["range"] = f"returned index {outside[0]} outside the pool of {size} points"
    values, counts = np.unique(indices, return_counts=True)
    if (counts > 1).any():
        problems["unique"] = f"returned index {values[counts > 1][0]} more than once"
    labeled = np.intersect1d(indices, pool.labeled)
    if len(labeled):
        problems["labeled"] = f"returned already-labeled index {labeled[0]}"
    return problems


def selection_problem(indices: Any, budget: int, pool: Pool) -> str | None:
    """The first of :func:`selection_problems`, or None when the answer is valid."""
    return next(iter(selection_problems(indices, budget, pool).values()), None)


@runtime_checkable
class Sampler(Protocol):
    """A selection strategy.

    ``uses_labels``: the sampler may read every label of the pool (the board marks it).
    ``iterative``: the sampler builds on the labeled set and is asked for increments.
    ``cold_start`` (optional, default False): an iterative sampler that can select with
    nothing labeled (``pool.labeled`` empty), as TypiClust and ProbCover do in their
    papers. Its chains then start from zero labels unless the suite names an
    ``initial_pool``; an iterative sampler without it starts from a single-batch
    sampler's pool and refuses ``initial_pool: none``. Single-batch samplers always
    select from scratch.
    """

    uses_labels: bool
    iterative: bool

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        """Return exactly ``budget`` unique int64 indices into the pool, none labeled yet."""


@runtime_checkable
class TrainableBackbone(Backbone, Protocol):
    """A backbone whose network image evaluators (``finetune``, ``fixmatch``) can train.

    ``preprocess(image)`` turns one image of a split into a float tensor ``[C, H, W]``
    with values in ``[0, 1]`` at the network's input size (resize and crop, no
    normalisation, so that augmentations work in pixel space); it must be picklable
    (DataLoader workers call it). ``network()`` returns a fresh ``torch.nn.Module`` with
    the backbone's weights loaded, mapping a batch ``[B, C, H, W]`` of preprocessed
    images to features ``[B, D]`` (any input normalisation is its first layer); each
    call returns a new copy, so training one never changes the backbone.
    ``fingerprint()["weights"]["kind"] == "random"`` marks a randomly initialised
    network (fine-tuning then follows the paper's from-scratch recipe).
    """

    def preprocess(self, image: Any) -> Any:
        """One image as a float tensor ``[C, H, W]`` in ``[0, 1]``."""

    def network(self) -> Any:
        """A fresh trainable ``torch.nn.Module``: preprocessed batch → features ``[B, D]``."""


@dataclass(frozen=True)
class ImageTask:
    """What an image evaluator receives: the pool's images, which of them are labeled
    and their labels, the test split, and the backbone to train.

    ``labels`` holds the labels of ``pool_images[labeled]`` only, in that order: the
    labels of the other pool points are not in the task (FixMatch uses those images
    as unlabeled data). ``pool_images`` and ``test_images`` are whatever the dataset's
    splits hold (an array ``[N, ...]`` or a sequence of PIL images).
    """

    pool_images: Any
    labeled: np.ndarray
    labels: np.ndarray
    test_images: Any
    test_labels: np.ndarray
    num_classes: int
    backbone: TrainableBackbone = field(repr=False)


@runtime_checkable
class Evaluator(Protocol):
    """An evaluation protocol run on the labeled train features and the test split."""

    def evaluate(
        self,
        train_x: np.ndarray,
        train_y: np.ndarray,
        test_x: np.ndarray,
        test_y: np.ndarray,
        num_classes: int,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        """Return named metrics in percent, e.g. ``{"top1": 71.3}``."""


@runtime_checkable
class ImageEvaluator(Protocol):
    """An evaluation protocol that trains on images (``needs_images = True``): it is
    called with an ``ImageTask`` instead of features. The dataset must hold images and
    the backbone must be a ``TrainableBackbone``; a suite that pairs it otherwise is
    refused before anything runs."""

    needs_images: bool

    def evaluate_images(self, task: ImageTask, rng: np.random.Generator) -> dict[str, float]:
        """Return named metrics in percent, e.g. ``{"top1": 71.3}``."""
