"""Training a backbone's network on images: the pieces the fine-tuning and FixMatch
evaluators share.

- ``Views``: a map-style dataset over some images of a split: each image preprocessed
  by the backbone and passed through one or more augmentations (plus its label, for
  labeled images). Every item is drawn with its own seed, so the augmentations do not
  depend on which DataLoader worker (or how many) produced it.
- ``Draws``: the batches of ``(index, seed)`` pairs a DataLoader feeds ``Views``: seeded
  random permutations, epoch by epoch or as one endless stream.
- ``loader``; ``Classifier`` (network → optional standardisation → linear head);
  ``features``, ``predict`` and ``scores_on_test`` (batched inference through
  ``lbal_bench.kit.extraction.extract``); ``EMA`` (a moving average of a model's weights);
  ``reinitialise``; ``seeded``; ``autocast``.

This module imports torch at the top: plugins import it inside the methods that train,
so that loading plugins stays fast.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from .compute import torch_device
from ..contracts import ImageTask
from .extraction import extract
from .metrics import classification_metrics


def item_seeds(seed: int, stream: int, batch: int, count: int) -> list[int]:
    """The seeds of the ``count`` items of batch number ``batch`` (from 1) of ``stream``
    in a run seeded with ``seed``; batch 0 seeds the order of the draws."""
    return [int(v >> 1) for v in np.random.SeedSequence([seed, stream, batch]).generate_state(count, np.uint64)]


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global CPU generator for the block, and restore it afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class Views:
    """``images[indices[i]]`` preprocessed, then through each of ``views`` (None: as
    preprocessed); with ``labels`` (aligned with ``indices``) the label comes last. Items
    are keyed ``(i, seed)``: torch's generator is seeded with ``seed`` before the
    augmentations draw."""

    def __init__(self, images: Sequence, indices: Sequence[int], preprocess: Callable[[Any], torch.Tensor],
                 views: Sequence[Callable[[torch.Tensor], torch.Tensor] | None], labels: Sequence[int] | None = None):
        self.images = images
        self.indices = np.asarray(indices, dtype=np.int64)
        self.preprocess = preprocess
        self.views = list(views)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key: tuple[int, int]) -> tuple:
        i, seed = key
        torch.random.default_generator.manual_seed(seed)
        x = self.preprocess(self.images[int(self.indices[i])])
        out = tuple(x if view is None else view(x) for view in self.views)
        return out if self.labels is None else (*out, int(self.labels[i]))


class Draws:
    """Batches of ``(index, item seed)`` pairs into ``range(n)`` from seeded random
    permutations, for a DataLoader's ``batch_sampler``.

    ``per_epoch=True``: ``count`` epochs, each one permutation cut into batches (the last
    one smaller; a last batch of one image joins the one before, since BatchNorm cannot
    train on a single image). ``per_epoch=False``: ``count`` batches of ``batch_size``
    from successive permutations (FixMatch's endless sampling).
    """

    def __init__(self, n: int, batch_size: int, count: int, seed: int, stream: int, per_epoch: bool):
        self.n, self.batch_size, self.count = n, batch_size, count
        self.seed, self.stream, self.per_epoch = seed, stream, per_epoch

    @property
    def batches_per_epoch(self) -> int:
        """Batches in one epoch (``per_epoch`` only)."""
        full, rest = divmod(self.n, self.batch_size)
        return full + (rest > 1 or full == 0)

    def __len__(self) -> int:
        return self.count * self.batches_per_epoch if self.per_epoch else self.count

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = torch.Generator().manual_seed(item_seeds(self.seed, self.stream, 0, 1)[0])
        batches = 0

        def keyed(indices: list[int]) -> list[tuple[int, int]]:
            nonlocal batches
            batches += 1
            return list(zip(indices, item_seeds(self.seed, self.stream, batches, len(indices))))

        if self.per_epoch:
            starts = [b * self.batch_size for b in range(self.batches_per_epoch)] + [self.n]
            for _ in range(self.count):
                permutation = torch.randperm(self.n, generator=order).tolist()
                for start, end in zip(starts, starts[1:]):
                    yield keyed(permutation[start:end])
            return
        pending: list[int] = []
        for _ in range(self.count):
            while len(pending) < self.batch_size:
                pending += torch.randperm(self.n, generator=order).tolist()
            batch, pending = pending[:self.batch_size], pending[self.batch_size:]
            yield keyed(batch)


def loader(views: Views, draws: Draws, workers: int) -> torch.utils.data.DataLoader:
    """A DataLoader of ``views`` batched by ``draws``, ``workers`` worker processes."""
    return torch.utils.data.DataLoader(views, batch_sampler=draws, num_workers=workers,
                                       pin_memory=torch_device() == "cuda", persistent_workers=workers > 0)


class Standardise(torch.nn.Module):
    """``(x - mean) / std`` with fixed statistics (a zero std counts as 1)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        std = np.where(std == 0, 1.0, std)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Classifier(torch.nn.Module):
    """A backbone network, optionally standardised features, and a linear head."""

    def __init__(self, network: torch.nn.Module, dim: int, num_classes: int,
                 standardise: tuple[np.ndarray, np.ndarray] | None = None):
        super().__init__()
        self.network = network
        self.standardise = Standardise(*standardise) if standardise is not None else torch.nn.Identity()
        self.head = torch.nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.standardise(self.network(x).float().flatten(1)))


def features(network: torch.nn.Module, images: Sequence, indices: Sequence[int], preprocess: Callable,
             batch_size: int = 256, workers: int = 0) -> np.ndarray:
    """``float32 [len(indices), D]``: ``network``'s outputs on the preprocessed images (no augmentation)."""
    return extract(network, torch.utils.data.Subset(images, [int(i) for i in indices]), preprocess,
                   batch_size=batch_size, workers=workers)


def predict(model: torch.nn.Module, images: Sequence, preprocess: Callable, batch_size: int = 256,
            workers: int = 0) -> np.ndarray:
    """The class ``model`` predicts for every image (int64 ``[N]``)."""
    return extract(model, images, preprocess, batch_size=batch_size, workers=workers).argmax(axis=1)


def scores_on_test(model: torch.nn.Module, task: ImageTask, mean_per_class: bool = False, workers: int = 0) -> dict:
    """``classification_metrics`` of ``model``'s predictions on the task's test split."""
    predicted = predict(model, task.test_images, task.backbone.preprocess, workers=workers)
    return classification_metrics(predicted, task.test_labels, mean_per_class)


def reinitialise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """``model`` with every layer's parameters drawn afresh (each layer's
    ``reset_parameters``), seeded: training from scratch on the same architecture."""
    with seeded(seed):
        for module in model.modules():
            if callable(getattr(module, "reset_parameters", None)):
                module.reset_parameters()
    return model


class EMA:
    """An exponential moving average of a model's parameters (``decay`` per step); its
    buffers (BatchNorm statistics) follow the model's. FixMatch evaluates this copy."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """One step towards ``model``'s current weights."""
        for mine, theirs in zip(self.model.parameters(), model.parameters()):
            mine.lerp_(theirs, 1 - self.decay)
        for mine, theirs in zip(self.model.buffers(), model.buffers()):
            mine.copy_(theirs)


def autocast() -> contextlib.AbstractContextManager:
    """bfloat16 mixed precision on CUDA (no loss scaling needed); nothing on the CPU."""
    device = torch_device()
    return torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda")
