"""Training a linear head on frozen features: shared by the linear evaluator and by
samplers that need a classifier (Max-Entropy).

torch is imported when ``fit_linear`` is called, never at module import.
"""

from __future__ import annotations

import math
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


def step_decay(epoch: int, milestones: Sequence[int]) -> float:
    """The learning-rate factor of ``epoch`` (from 0) under MultiStepLR with gamma 0.1:
    ×0.1 for every milestone reached."""
    return 0.1 ** sum(epoch >= m for m in milestones)


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

    The gradient of the mean cross-entropy and torch's Adam update (default betas and
    eps) are written out, without autograd or an optimizer object: with the paper's
    CIFAR batches of 4 a step is a dozen small tensor operations, and autograd's and
    the optimizer's bookkeeping cost ten times more than the arithmetic
    (benchmarks/RESULTS.md, "Grid wall time").
    """
    import torch

    device = torch_device()
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=0) if standardise else np.zeros(x.shape[1], np.float32)
    std = x.std(axis=0) if standardise else np.ones(x.shape[1], np.float32)
    std[std == 0] = 1.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Linear(x.shape[1], num_classes)
    # the layer as one [D + 1, C] matrix acting on the inputs with a column of ones
    weights = torch.cat([model.weight.detach().T, model.bias.detach()[None]]).to(device).contiguous()
    inputs = torch.as_tensor(np.hstack([(x - mean) / std, np.ones((len(x), 1), np.float32)]), device=device)
    targets = torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device)
    minus_one = torch.full((batch_size, 1), -1.0, device=device)
    first_moment, second_moment = torch.zeros_like(weights), torch.zeros_like(weights)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    shuffle = torch.Generator().manual_seed(seed)
    epoch_lrs, step = [], 0
    for epoch in range(epochs):
        rate = lr * step_decay(epoch, milestones)
        epoch_lrs.append(rate)
        order = torch.randperm(len(inputs), generator=shuffle).to(device)
        shuffled_x, shuffled_y = inputs[order], targets[order, None]
        for start in range(0, len(order), batch_size):
            batch_x, batch_y = shuffled_x[start:start + batch_size], shuffled_y[start:start + batch_size]
            # d(mean cross-entropy)/d(logits) = (softmax - one-hot) / batch
            error = torch.softmax(batch_x @ weights, dim=1).scatter_add_(1, batch_y, minus_one[:len(batch_y)])
            grad = torch.mm(batch_x.T, error).div_(len(batch_y))
            step += 1
            first_moment.lerp_(grad, 1 - beta1)
            second_moment.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = second_moment.sqrt().div_(math.sqrt(1 - beta2**step)).add_(eps)
            weights.addcdiv_(first_moment, denom, value=-rate / (1 - beta1**step))
    with torch.no_grad():
        model.weight.copy_(weights[:-1].T)
        model.bias.copy_(weights[-1])
    model = model.to(device).eval()
    return LinearHead(model, mean, std, device, epoch_lrs)
