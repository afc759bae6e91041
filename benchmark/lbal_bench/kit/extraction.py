"""Batched feature extraction with a torch model, shared by every torch backbone.

``extract`` runs a frozen model over a map-style dataset of images (anything with ``len``
and ``[]`` returning a PIL image, e.g. ``lbal_bench.kit.datafiles.ImageFiles``) through a
torch DataLoader: the backbone's transform runs in the loader's worker processes, the
model in inference mode on ``torch_device()`` with automatic mixed precision on CUDA, and
``progress(n)`` is called after every batch. torch is imported on call only.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .compute import torch_device
from ..errors import LbalError


class Transformed:
    """``images[i]`` passed through ``transform`` (picklable, for DataLoader workers)."""

    def __init__(self, images: Sequence, transform: Callable[[Any], Any]):
        self.images = images
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.transform(self.images[index])


def _one_line(exc: LbalError) -> str:
    """The message of an ``LbalError``, also when a DataLoader worker wrapped it in a traceback."""
    last = str(exc).strip().splitlines()[-1]
    return last.split(f"{LbalError.__module__}.{LbalError.__name__}: ", 1)[-1]


def extract(
    model: Any,
    images: Sequence,
    transform: Callable[[Any], Any],
    batch_size: int = 128,
    workers: int = 0,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """``float32 [len(images), D]``: ``model`` applied to every transformed image, in order."""
    import torch
    from torch.utils.data import DataLoader

    device = torch_device()
    loader = DataLoader(
        Transformed(images, transform), batch_size=batch_size, shuffle=False, num_workers=workers,
        pin_memory=device == "cuda",
    )
    model = model.eval().to(device)
    out: np.ndarray | None = None
    done = 0
    try:
        with torch.inference_mode(), torch.autocast(device_type=device, enabled=device == "cuda"):
            for batch in loader:
                features = model(batch.to(device, non_blocking=True)).float().flatten(1).cpu().numpy()
                if out is None:
                    out = np.empty((len(images), features.shape[1]), dtype=np.float32)
                out[done:done + len(features)] = features
                done += len(features)
                if progress is not None:
                    progress(len(features))
    except LbalError as exc:  # e.g. an unreadable image, raised in a worker process
        raise LbalError(_one_line(exc)) from None
    return out if out is not None else np.empty((0, 0), dtype=np.float32)
