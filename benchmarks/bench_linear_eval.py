"""Linear evaluation of one cell on cached features against the original re-embedding loop.

Issue 4's case: an ImageNet-1% cell, 13,000 labeled points × 512 dims and 1,000
classes, evaluated on a 50,000-point test split, with the paper's protocol (Adam lr
0.01, lr ×0.1 at epochs 50 and 75, batch 128).

- ``test_linear_cell``: the ``linear`` evaluator, created through the registry as the
  runner creates it, on cached features (``clustered_features``), 100 epochs: the time of
  one cell on this machine (CPU, or CUDA when present).
- ``test_linear_vs_reembedding``: the same evaluator against the loop of the paper's
  original code (CompRess's ``eval_linear``), both for ``EPOCHS`` epochs in one run: per
  mini-batch, the frozen backbone embeds the augmented images (a random horizontal flip),
  then the head (``torch.nn.Linear`` on features standardised with the labeled set's mean
  and std, computed in one extra pass) takes an autograd Adam step; the test images are
  embedded once at the end. The backbone is a tiny CNN (three stride-2 convolutions on
  32×32 RGB, 512-d output, ~5 MFLOP an image), so the ratio is a lower bound: with a
  ResNet-18 on 224×224 images the re-embedding costs ~360 times more per image.

Only time is compared: the images are random, so the baseline's accuracy means nothing.
Run: ``pytest benchmarks/bench_linear_eval.py --benchmark-only -q -s``; results in
RESULTS.md, "Linear evaluation".
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from conftest import clustered_features

from lbal_bench.kit.compute import torch_device
from lbal_bench.plugins import get_registry

LABELED, TEST, DIM, CLASSES, BATCH = 13_000, 50_000, 512, 1_000, 128
EPOCHS = 10  # of the comparison (both sides, fixed costs included); the protocol's 100 in test_linear_cell
_rows: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    if _rows:
        print("\nlinear evaluation, 13k x 512 labeled, 50k test, 1,000 classes: "
              + ", ".join(f"{k} {v}" for k, v in _rows.items()))


@pytest.fixture(scope="module")
def features():
    train_x, train_y = clustered_features(LABELED, DIM, CLASSES, spread=1.5)
    test_x, test_y = clustered_features(TEST, DIM, CLASSES, spread=1.5, draw=1)
    return train_x, train_y, test_x, test_y


def linear_cell(features, epochs: int) -> dict:
    """One cell of the ``linear`` evaluator (as the runner calls it)."""
    evaluator = get_registry().create("evaluator", "linear", {"epochs": epochs, "batch_size": BATCH})
    return evaluator.evaluate(*features, CLASSES, np.random.default_rng(0))


def tiny_cnn() -> torch.nn.Module:
    """A frozen 32×32 RGB → 512-d convolutional network (random weights)."""
    torch.manual_seed(0)
    layers = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 128, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(),
    )
    return layers.eval()


def reembedding_cell(train_images, train_y, test_images, test_y, epochs: int) -> float:
    """The original loop: embed every augmented batch, one autograd Adam step on the head; top-1 %."""
    device = torch_device()
    backbone = tiny_cnn().to(device)
    images = torch.as_tensor(train_images, device=device)
    labels = torch.as_tensor(train_y, device=device)

    def embed(batch: torch.Tensor, augment: bool) -> torch.Tensor:
        batch = batch.float().div_(255)
        if augment:  # random horizontal flip of each image
            flip = torch.rand(len(batch), device=device) < 0.5
            batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
        with torch.no_grad():
            return backbone(batch)

    with torch.no_grad():  # the standardisation statistics: one pass over the labeled images
        seen = torch.cat([embed(images[i:i + BATCH], False) for i in range(0, len(images), BATCH)])
        mean, std = seen.mean(0), seen.std(0).clamp_min(1e-6)
    head = torch.nn.Linear(DIM, CLASSES).to(device)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.01)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, [50, 75], gamma=0.1)
    for _ in range(epochs):
        for batch in torch.randperm(len(images), device=device).split(BATCH):
            optimizer.zero_grad(set_to_none=True)
            logits = head((embed(images[batch], True) - mean) / std)
            torch.nn.functional.cross_entropy(logits, labels[batch]).backward()
            optimizer.step()
        schedule.step()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test_images), 1024):
            chunk = torch.as_tensor(test_images[start:start + 1024], device=device)
            predicted = head((embed(chunk, False) - mean) / std).argmax(1).cpu().numpy()
            correct += int((predicted == test_y[start:start + 1024]).sum())
    return 100.0 * correct / len(test_images)


def test_linear_cell(benchmark, features):
    benchmark.group = "linear evaluation cell, 13k x 512 labeled, 50k test, 100 epochs"
    metrics = benchmark.pedantic(linear_cell, args=(features, 100), rounds=1, iterations=1)
    assert metrics["top1"] > 50  # the clusters are separable: the head must learn them
    _rows[f"cell, 100 epochs ({torch_device()})"] = f"{benchmark.stats.stats.median:.1f} s (top-1 {metrics['top1']:.1f}%)"


def test_linear_vs_reembedding(benchmark, features):
    benchmark.group = f"linear evaluation vs re-embedding every epoch, {EPOCHS} epochs"
    rng = np.random.default_rng(0)
    train_images = rng.integers(0, 256, (LABELED, 3, 32, 32), dtype=np.uint8)
    test_images = rng.integers(0, 256, (TEST, 3, 32, 32), dtype=np.uint8)
    start = time.perf_counter()
    reembedding_cell(train_images, features[1], test_images, features[3], EPOCHS)
    baseline = time.perf_counter() - start
    benchmark.pedantic(linear_cell, args=(features, EPOCHS), rounds=1, iterations=1)
    ours = benchmark.stats.stats.median
    _rows[f"{EPOCHS} epochs: re-embedding loop"] = f"{baseline:.1f} s"
    _rows[f"{EPOCHS} epochs: linear on cached features"] = f"{ours:.1f} s"
    _rows["speed-up"] = f"{baseline / ours:.1f}x"
    benchmark.extra_info.update(speedup=baseline / ours, baseline_s=baseline)
