"""``fixmatch``: semi-supervised evaluation with FixMatch (Sohn et al., NeurIPS 2020), the
selected images as labeled data and the rest of the pool as unlabeled data (paper §4,
"Semi-supervised learning evaluation", §4.5 and Table 10).

The recipe, with FixMatch's CIFAR-10 values as defaults:

- The model is the backbone's network (``TrainableBackbone.network()``; ``init:
  scratch`` re-initialises it, seeded, to train from scratch as FixMatch does) with a
  linear layer on its features.
- Every step takes ``batch_size`` (64) labeled images with the weak augmentation
  (horizontal flip, translation by up to 12.5%) and ``mu`` × ``batch_size`` (μ = 7)
  unlabeled images, each in a weak and a strong view (the weak augmentation, then two
  RandAugment operations at a random magnitude, then Cutout: ``lbal_bench.kit.augment``).
  Labeled and unlabeled images are drawn from successive random permutations.
- Loss: cross-entropy on the labeled images plus ``lambda_u`` (λu = 1) × the unlabeled
  loss: the class the model predicts on the weak view is the pseudo-label of the strong
  view when its probability is at least ``threshold`` (0.95), and unlabeled images
  below the threshold count as zero in the mean over the μB images.
- SGD with Nesterov momentum 0.9, weight decay ``weight_decay`` (5e-4; FixMatch used
  1e-3 on CIFAR-100) on weights but not on biases and normalisation parameters, lr
  ``lr`` (0.03) decayed as lr · cos(7πk / 16K) over K = ``steps`` (2^20) steps.
- The test split is classified by an exponential moving average of the weights
  (``ema``, 0.999; 0 evaluates the trained weights themselves). Reports top-1 in percent
  (``mean_per_class: true``: the mean per-class accuracy first).

Runs on CUDA when present (bfloat16 autocast; FixMatch trained in float32), else on the
CPU, where a seed gives the same number for any number of DataLoader ``workers`` (a
runtime option). ``flip: false`` leaves the flip out of both augmentations (digits;
FixMatch did so on SVHN).

Differences from FixMatch: the unlabeled set is the pool less the labeled images (FixMatch
used the whole training set); RandAugment is torchvision's (14 operations, applied with
probability 1, magnitude per image rather than per operation); Cutout always, square of
side up to half the image, grey; one forward pass over the concatenated batch (FixMatch
interleaved it for multi-GPU BatchNorm). The paper does not say which network its
FixMatch runs trained or for how long; its CIFAR-10 numbers with Uniform labels (88.8%
at 40 labels) match FixMatch's own from-scratch WideResNet-28-2 results (86.2% with
RandAugment, 88.6% with CTAugment), so ``suites/semisup*.yaml`` train the selection's
ResNet-18 from scratch for FixMatch's 2^20 steps.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from annotated_types import Ge, Gt, Interval

from lbal_bench import hookimpl

Count = Annotated[int, Ge(1)]
Decay = Annotated[float, Interval(ge=0, lt=1)]  # momentum, ema


def unlabeled_loss(logits_weak, logits_strong, threshold: float):
    """FixMatch's unlabeled loss and mask: cross-entropy of the strong view's logits against
    the weak view's predicted class, for the images whose weak-view probability reaches
    ``threshold``, averaged over all images (masked ones count as 0)."""
    import torch

    confidence, pseudo = torch.softmax(logits_weak.detach().float(), dim=1).max(dim=1)
    mask = (confidence >= threshold).float()
    loss = torch.nn.functional.cross_entropy(logits_strong.float(), pseudo, reduction="none")
    return (loss * mask).mean(), mask


def cosine_factor(step: int, steps: int) -> float:
    """FixMatch's learning-rate decay after ``step`` of ``steps``: ``cos(7π · step / (16 · steps))``."""
    return math.cos(7 * math.pi * step / (16 * steps))


class FixMatch:
    """FixMatch on the pool: the selection labeled, the rest unlabeled; top-1 on the test split."""

    needs_images = True
    runtime_options = ("workers",)

    def __init__(self, steps: Count = 2**20, batch_size: Count = 64, mu: Count = 7,
                 threshold: Annotated[float, Interval(ge=0, le=1)] = 0.95, lambda_u: Annotated[float, Ge(0)] = 1.0,
                 lr: Annotated[float, Gt(0)] = 0.03, momentum: Decay = 0.9,
                 weight_decay: Annotated[float, Ge(0)] = 5e-4, ema: Decay = 0.999,
                 init: Literal["backbone", "scratch"] = "backbone", flip: bool = True, mean_per_class: bool = False,
                 workers: Annotated[int, Ge(0)] = 0):
        self.steps, self.batch_size, self.mu, self.threshold, self.lambda_u = steps, batch_size, mu, threshold, lambda_u
        self.lr, self.momentum, self.weight_decay, self.ema = lr, momentum, weight_decay, ema
        self.init, self.flip, self.mean_per_class, self.workers = init, flip, mean_per_class, workers

    def _optimizer(self, model):
        import torch

        decay = [p for p in model.parameters() if p.ndim > 1]
        rest = [p for p in model.parameters() if p.ndim <= 1]  # biases, normalisation
        groups = [{"params": decay, "weight_decay": self.weight_decay}, {"params": rest, "weight_decay": 0.0}]
        optimizer = torch.optim.SGD(groups, lr=self.lr, momentum=self.momentum, nesterov=True)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: cosine_factor(k, self.steps))

    def train(self, task, seed: int):
        """The EMA model (network and linear layer) after FixMatch training on ``task``."""
        import itertools

        import torch

        from lbal_bench.kit.augment import FlipTranslate, StrongAugment
        from lbal_bench.kit.compute import torch_device
        from lbal_bench.kit.imagetraining import EMA, Classifier, Draws, Views, autocast, loader, reinitialise, seeded

        device, preprocess = torch_device(), task.backbone.preprocess
        weak, strong = FlipTranslate(self.flip), StrongAugment(self.flip)
        unlabeled = np.setdiff1d(np.arange(len(task.pool_images)), task.labeled)
        with seeded(seed):
            network = task.backbone.network().to(device)
            if self.init == "scratch":
                reinitialise(network, seed)
            with torch.no_grad():
                sample = preprocess(task.pool_images[int(task.labeled[0])])[None].to(device)
                dim = network.eval()(sample).flatten(1).shape[1]
            model = Classifier(network, dim, task.num_classes).to(device).train()
            ema = EMA(model, self.ema)
            optimizer, scheduler = self._optimizer(model)
            labeled = loader(Views(task.pool_images, task.labeled, preprocess, [weak], task.labels),
                             Draws(len(task.labeled), self.batch_size, self.steps, seed, 0, per_epoch=False),
                             self.workers)
            pairs = loader(Views(task.pool_images, unlabeled, preprocess, [weak, strong]),
                           Draws(len(unlabeled), self.mu * self.batch_size, self.steps, seed, 1, per_epoch=False),
                           self.workers) if len(unlabeled) else itertools.repeat(None, self.steps)
            for (x, y), pair in zip(labeled, pairs):
                inputs = x if pair is None else torch.cat([x, *pair])
                with autocast():
                    logits = model(inputs.to(device))
                loss = torch.nn.functional.cross_entropy(logits[:len(x)], y.to(device))
                if pair is not None:
                    logits_weak, logits_strong = logits[len(x):].chunk(2)
                    loss = loss + self.lambda_u * unlabeled_loss(logits_weak, logits_strong, self.threshold)[0]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                ema.update(model)
        return ema.model

    def evaluate_images(self, task, rng) -> dict[str, float]:
        from lbal_bench.kit.imagetraining import scores_on_test

        return scores_on_test(self.train(task, int(rng.integers(2**31 - 1))), task, self.mean_per_class, self.workers)


@hookimpl
def lbal_register_evaluators(register):
    register("fixmatch", FixMatch,
             description="FixMatch: selection labeled, rest of the pool unlabeled (Table 10), top-1 %")
