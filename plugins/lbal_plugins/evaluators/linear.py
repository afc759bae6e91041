"""``linear``: the paper's linear evaluation on frozen features (§4).

Each feature dimension is standardised with the mean and std of the labeled set; a
linear layer is trained with cross-entropy, Adam (lr 0.01), 100 epochs, the learning
rate ×0.1 at epochs 50 and 75, mini-batches of ``batch_size`` (the paper uses 4 for
CIFAR and 128 for ImageNet). Reports top-1 accuracy on the test split in percent; with
``mean_per_class: true`` it reports the mean per-class accuracy first (the paper's metric
for Flowers-102 and Aircraft, Table 15) and top-1 second.

Runs on CUDA when present, else CPU; on CPU a seed gives the same number every time.
Unlike the original code, which re-ran the backbone with augmentations every epoch,
training uses the cached (un-augmented) features, so a cell takes seconds.
"""

from __future__ import annotations

from lbal_bench import hookimpl
from lbal_bench.metrics import classification_metrics
from lbal_bench.training import fit_linear


class Linear:
    """Linear classifier on standardised frozen features."""

    def __init__(self, epochs: int = 100, lr: float = 0.01, milestones: tuple[int, ...] = (50, 75),
                 batch_size: int = 128, mean_per_class: bool = False):
        if epochs < 1 or batch_size < 1 or lr <= 0:
            raise ValueError("epochs and batch_size must be at least 1 and lr positive")
        self.mean_per_class = mean_per_class
        self.epochs = epochs
        self.lr = lr
        self.milestones = list(milestones)
        self.batch_size = batch_size

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes, rng) -> dict[str, float]:
        head = fit_linear(
            train_x, train_y, num_classes, seed=int(rng.integers(2**31 - 1)), epochs=self.epochs,
            lr=self.lr, milestones=self.milestones, batch_size=self.batch_size,
        )
        return classification_metrics(head.logits(test_x).argmax(axis=1), test_y, self.mean_per_class)


@hookimpl
def lbal_register_evaluators(register):
    register("linear", Linear, description="paper's linear evaluation on standardised features, top-1 %")
