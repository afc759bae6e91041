"""``finetune``: the backbone and a linear layer trained together on the labeled images
(paper §5.2, "Effect of fine-tuning", Table 13).

Protocol:

- A fresh copy of the backbone's network (``TrainableBackbone.network()``) with a linear
  layer on top is trained with cross-entropy on the labeled images for ``epochs`` epochs
  (100) of mini-batches of ``batch_size`` (256), the learning rates ×0.1 at the
  ``milestones`` epochs (30, 60, 90).
- A pretrained backbone (its fingerprint's weights kind is not ``random``): the features
  are standardised before the layer with the mean and std of the labeled images'
  features (computed once, with the initial network); Adam, lr 1e-4 for the backbone
  and 1e-2 for the layer.
- A randomly initialised backbone (``weights: random``): no standardisation; SGD
  (momentum 0.9, weight decay 1e-4) with lr 0.1 for both.
- ``optimizer`` (``adam``/``sgd``), ``lr`` (backbone), ``head_lr`` and ``standardise``
  override that choice; null means "as above".
- Training augmentation ``augment``: ``crop`` (a random resized crop of the preprocessed
  image, 8–100% of its area, and a horizontal flip: the original's ImageNet
  augmentation), ``translate`` (FixMatch's weak flip and translate) or ``none``;
  ``flip: false`` leaves out the flip (digits).
- Reports top-1 accuracy on the test split in percent; with ``mean_per_class: true`` the
  mean per-class accuracy first, as ``linear``.

Runs on CUDA when present (bfloat16 autocast), else on the CPU, where a seed gives the
same number for any number of DataLoader ``workers`` (a runtime option): every image is
augmented with its own seed.

Differences from the paper's code (UCDvision/low-budget-al ``finetune.py``): it defaulted
to 40 epochs; the paper states 100 epochs for the SGD runs and no count for Adam, and
we use 100 for both. It L2-normalised the features before the layer where the paper
says mean/std normalisation: we follow the paper. It cropped the full-size image
(``RandomResizedCrop(224)``); we crop the preprocessed (resized, centre-cropped) image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from annotated_types import Ge, Gt

from lbal_bench import hookimpl

Rate = Annotated[float, Gt(0)]


@dataclass(frozen=True)
class Recipe:
    """The optimiser settings a backbone gets."""

    optimizer: str
    lr: float
    head_lr: float
    standardise: bool


def pretrained(backbone) -> bool:
    """Whether ``backbone``'s weights were trained: its fingerprint's weights kind is not ``random``."""
    return backbone.fingerprint().get("weights", {}).get("kind") != "random"


class Finetune:
    """Fine-tune backbone + linear layer on the labeled images, top-1 on the test split."""

    needs_images = True
    runtime_options = ("workers",)

    def __init__(self, epochs: Annotated[int, Ge(1)] = 100, batch_size: Annotated[int, Ge(2)] = 256,
                 milestones: tuple[int, ...] = (30, 60, 90), optimizer: Literal["adam", "sgd"] | None = None,
                 lr: Rate | None = None, head_lr: Rate | None = None, standardise: bool | None = None,
                 augment: Literal["crop", "translate", "none"] = "crop", flip: bool = True,
                 mean_per_class: bool = False, workers: Annotated[int, Ge(0)] = 0):
        self.epochs, self.batch_size, self.milestones = epochs, batch_size, list(milestones)
        self.optimizer, self.lr, self.head_lr, self.standardise = optimizer, lr, head_lr, standardise
        self.augment, self.flip, self.mean_per_class, self.workers = augment, flip, mean_per_class, workers

    def recipe(self, backbone) -> Recipe:
        """The paper's settings for ``backbone`` (Adam for pretrained weights, SGD for
        random ones), with this evaluator's options in their place where given."""
        trained = pretrained(backbone)
        optimizer = self.optimizer or ("adam" if trained else "sgd")
        return Recipe(
            optimizer=optimizer,
            lr=self.lr or (1e-4 if optimizer == "adam" else 0.1),
            head_lr=self.head_lr or (1e-2 if optimizer == "adam" else 0.1),
            standardise=trained if self.standardise is None else self.standardise,
        )

    def _augmentation(self):
        from lbal_bench.kit.augment import FlipTranslate, ResizedCrop

        return {"crop": ResizedCrop(self.flip), "translate": FlipTranslate(self.flip), "none": None}[self.augment]

    def train(self, task, seed: int):
        """The trained ``Classifier`` (network, standardisation, layer) for ``task``."""
        import torch

        from lbal_bench.kit.compute import torch_device
        from lbal_bench.kit.imagetraining import Classifier, Draws, Views, autocast, features, loader, seeded
        from lbal_bench.kit.training import step_decay

        recipe, device, preprocess = self.recipe(task.backbone), torch_device(), task.backbone.preprocess
        with seeded(seed):
            network = task.backbone.network()
            initial = features(network, task.pool_images, task.labeled, preprocess, workers=self.workers)
            stats = (initial.mean(axis=0), initial.std(axis=0)) if recipe.standardise else None
            model = Classifier(network, initial.shape[1], task.num_classes, stats).to(device).train()
            groups = [{"params": model.network.parameters(), "lr": recipe.lr},
                      {"params": model.head.parameters(), "lr": recipe.head_lr}]
            optimizer = (torch.optim.Adam(groups) if recipe.optimizer == "adam"
                         else torch.optim.SGD(groups, lr=recipe.lr, momentum=0.9, weight_decay=1e-4))
            views = Views(task.pool_images, task.labeled, preprocess, [self._augmentation()], task.labels)
            draws = Draws(len(task.labeled), self.batch_size, self.epochs, seed, stream=0, per_epoch=True)
            for step, (x, y) in enumerate(loader(views, draws, self.workers)):
                decay = step_decay(step // draws.batches_per_epoch, self.milestones)
                for group, base in zip(optimizer.param_groups, (recipe.lr, recipe.head_lr)):
                    group["lr"] = base * decay
                with autocast():
                    loss = torch.nn.functional.cross_entropy(model(x.to(device)), y.to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return model.eval()

    def evaluate_images(self, task, rng) -> dict[str, float]:
        from lbal_bench.kit.imagetraining import scores_on_test

        return scores_on_test(self.train(task, int(rng.integers(2**31 - 1))), task, self.mean_per_class, self.workers)


@hookimpl
def lbal_register_evaluators(register):
    register("finetune", Finetune,
             description="fine-tune backbone + linear layer on the labeled images (Table 13), top-1 %")
