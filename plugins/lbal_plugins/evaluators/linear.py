"""``linear``: the paper's linear evaluation on frozen features (§4).

``normalise`` says what the layer sees:

- ``standardise`` (default, the paper's text: "per-dimension mean/std normalisation"):
  each feature dimension minus its mean over the labeled set, divided by its std there
  (a zero std counts as 1);
- ``l2``: each row scaled to unit L2 norm and nothing else, as the released
  ``eval_lincls.py`` does (it defines a full-batch normalisation but never applies it);
  on the benchmark's L2-normalised features this is the features as they are;
- ``none``: the features as they are.

Standardising with statistics of the whole pool is not offered: an evaluator receives the
labeled and the test features only (the evaluator contract), not the pool.

The layer is trained with cross-entropy, Adam (lr 0.01), 100 epochs, the learning rate
×0.1 at epochs 50 and 75, mini-batches of ``batch_size`` (the paper uses 4 for CIFAR and
128 for ImageNet). Reports top-1 accuracy on the test split in percent; with
``mean_per_class: true`` it reports the mean per-class accuracy first (the paper's metric
for Flowers-102 and Aircraft, Table 15) and top-1 second.

Runs on CUDA when present, else on the CPU in numpy (``lbal_bench.kit.training.fit_linear``);
on the CPU a seed gives the same number every time. Unlike the original code, which re-ran
the backbone with augmentations every epoch, training uses the cached (un-augmented)
features, so a cell takes seconds. ``evaluate_batch`` trains the heads of several cells of
one budget (other samplers and seeds) as one stacked problem (``fit_linear_batched``), each
head the one ``evaluate`` would train, bit for bit, from its own cell's generator; the
runner uses it where ``batch_pays``: on the CPU for small steps (CIFAR's batch of 4;
ImageNet's heads train one by one, in their chains), on CUDA always (one ``bmm`` a step
for the stack, where heads one by one are bound by kernel launches). The test split is predicted head by head: each head
has its own standardisation, so one wide product would need it folded into the weights,
which rounds differently from a cell evaluated alone (and saves no arithmetic).
"""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Gt

from lbal_bench import hookimpl
from lbal_bench.kit.metrics import classification_metrics
from lbal_bench.kit.training import NORMALISATIONS, cuda_available, fit_linear, fit_linear_batched


class Linear:
    """Linear classifier on normalised frozen features."""

    def __init__(self, epochs: Annotated[int, Ge(1)] = 100, lr: Annotated[float, Gt(0)] = 0.01,
                 milestones: tuple[int, ...] = (50, 75), batch_size: Annotated[int, Ge(1)] = 128,
                 mean_per_class: bool = False, normalise: Literal[NORMALISATIONS] = "standardise"):
        self.normalise = normalise
        self.mean_per_class = mean_per_class
        self.epochs = epochs
        self.lr = lr
        self.milestones = list(milestones)
        self.batch_size = batch_size

    def _protocol(self) -> dict:
        return {"epochs": self.epochs, "lr": self.lr, "milestones": self.milestones, "batch_size": self.batch_size,
                "normalise": self.normalise}

    def _metrics(self, head, test_x, test_y) -> dict[str, float]:
        return classification_metrics(head.logits(test_x).argmax(axis=1), test_y, self.mean_per_class)

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes, rng) -> dict[str, float]:
        head = fit_linear(train_x, train_y, num_classes, seed=head_seed(rng), **self._protocol())
        return self._metrics(head, test_x, test_y)

    def batch_pays(self, budget: int, num_classes: int) -> bool:
        """Whether heads of ``budget`` labels train faster stacked: where a step is a few
        dozen numpy calls on small arrays (the paper's CIFAR batch of 4, 10 classes), not
        where it is arithmetic (ImageNet's 128 × 1,000 logits a step: seven such heads
        stacked trained slower than one after another, benchmarks/RESULTS.md, "Grid wall
        time"). On CUDA it always pays: there a step of one head is bound by kernel
        launches, and a stack costs about as many launches as one head."""
        return min(self.batch_size, budget) * num_classes <= SMALL_STEP or cuda_available()

    def evaluate_batch(self, train_xs, train_ys, test_x, test_y, num_classes, rngs) -> list[dict[str, float]]:
        """``evaluate`` on each ``(train_xs[i], train_ys[i], rngs[i])``, the training sets of
        one size: the heads train as one stacked problem."""
        heads = fit_linear_batched(train_xs, train_ys, num_classes, seeds=[head_seed(rng) for rng in rngs],
                                   **self._protocol())
        return [self._metrics(head, test_x, test_y) for head in heads]


SMALL_STEP = 4096  # logits (rows x classes) of a step below which stacking heads pays


def head_seed(rng) -> int:
    """The seed of a cell's head, drawn from its evaluation generator."""
    return int(rng.integers(2**31 - 1))


@hookimpl
def lbal_register_evaluators(register):
    register("linear", Linear, description="paper's linear evaluation on normalised frozen features, top-1 %")
