"""``linear``: the paper's linear evaluation on frozen features (§4).

Each feature dimension is standardised with the mean and std of the labeled set; a
linear layer is trained with cross-entropy, Adam (lr 0.01), 100 epochs, the learning
rate ×0.1 at epochs 50 and 75, mini-batches of ``batch_size`` (the paper uses 4 for
CIFAR and 128 for ImageNet). Reports top-1 accuracy on the test split in percent.

Runs on CUDA when present, else CPU; on CPU a seed gives the same number every time.
Unlike the original code, which re-ran the backbone with augmentations every epoch,
training uses the cached (un-augmented) features, so a cell takes seconds.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import hookimpl
from lbal_bench.compute import torch_device


class Linear:
    """Linear classifier on standardised frozen features."""

    def __init__(self, epochs: int = 100, lr: float = 0.01, milestones: tuple[int, ...] = (50, 75),
                 batch_size: int = 128):
        if epochs < 1 or batch_size < 1 or lr <= 0:
            raise ValueError("epochs and batch_size must be at least 1 and lr positive")
        self.epochs = epochs
        self.lr = lr
        self.milestones = list(milestones)
        self.batch_size = batch_size

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes, rng) -> dict[str, float]:
        import torch

        device = torch_device()
        seed = int(rng.integers(2**31 - 1))
        mean = train_x.mean(axis=0)
        std = train_x.std(axis=0)
        std[std == 0] = 1.0

        def tensor(x):
            return torch.as_tensor((np.asarray(x) - mean) / std, dtype=torch.float32, device=device)

        x, y = tensor(train_x), torch.as_tensor(train_y, device=device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = torch.nn.Linear(x.shape[1], num_classes).to(device)
        shuffle = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, self.milestones, gamma=0.1)
        for _ in range(self.epochs):
            order = torch.randperm(len(x), generator=shuffle).to(device)
            for batch in order.split(self.batch_size):
                optimizer.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
                optimizer.step()
            schedule.step()
        with torch.no_grad():
            predicted = model(tensor(test_x)).argmax(dim=1).cpu().numpy()
        return {"top1": 100.0 * float((predicted == test_y).mean())}


@hookimpl
def lbal_register_evaluators(register):
    register("linear", Linear, description="paper's linear evaluation on standardised features, top-1 %")
