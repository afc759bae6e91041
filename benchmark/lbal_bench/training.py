"""Training a linear head on frozen features: shared by the linear evaluator and by
samplers that need a classifier (Max-Entropy).

torch is imported when ``fit_linear`` is called, never at module import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .compute import torch_device


@dataclass
class LinearHead:
    """A trained linear layer with the standardisation fitted on its training set, and
    the learning rate each epoch trained with."""

    model: object
    mean: np.ndarray
    std: np.ndarray
    device: str
    epoch_lrs: list[float]

    def logits(self, x: np.ndarray, batch: int = 65536) -> np.ndarray:
        """Class scores ``float32 [N, C]`` for features ``x``."""
        import torch

        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch):
                chunk = (np.asarray(x[start:start + batch]) - self.mean) / self.std
                out.append(self.model(torch.as_tensor(chunk, dtype=torch.float32, device=self.device)).float().cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, self.model.out_features), np.float32)


def fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    *,
    seed: int,
    epochs: int = 100,
    lr: float = 0.01,
    milestones: Sequence[int] = (50, 75),
    batch_size: int = 128,
    standardise: bool = True,
) -> LinearHead:
    """Train ``Linear(D, num_classes)`` with cross-entropy and Adam, lr ×0.1 at ``milestones``.

    With ``standardise`` each dimension is scaled by the mean/std of ``x`` (a zero std
    counts as 1). The initialisation and batch order come from ``seed`` without touching
    torch's global generator; on CPU the result is bit-for-bit reproducible.
    """
    import torch

    device = torch_device()
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=0) if standardise else np.zeros(x.shape[1], np.float32)
    std = x.std(axis=0) if standardise else np.ones(x.shape[1], np.float32)
    std[std == 0] = 1.0
    inputs = torch.as_tensor((x - mean) / std, dtype=torch.float32, device=device)
    targets = torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Linear(x.shape[1], num_classes).to(device)
    shuffle = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(milestones), gamma=0.1)
    epoch_lrs = []
    for _ in range(epochs):
        epoch_lrs.append(optimizer.param_groups[0]["lr"])
        order = torch.randperm(len(inputs), generator=shuffle).to(device)
        for batch in order.split(batch_size):
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(inputs[batch]), targets[batch]).backward()
            optimizer.step()
        schedule.step()
    model.eval()
    return LinearHead(model, mean, std, device, epoch_lrs)
