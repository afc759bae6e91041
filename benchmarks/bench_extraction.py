"""Feature extraction throughput: ``lbal_bench.kit.extraction.extract`` against the model alone.

The baseline is the ResNet-18's forward pass on tensors already decoded, transformed and
stacked (what no loader can beat); the measured row is the whole extraction as a run
does it: images read (JPEG files, or CIFAR's in-memory arrays), transformed in the
DataLoader, batched, embedded (AMP on CUDA), copied back. Their ratio is the loader's
overhead; images/s is the figure to plan an ImageNet extraction with.

Two inputs: 32×32 CIFAR images with the ``cifar10`` transform (no resize), and 320×240
JPEG files with the standard ``imagenet`` transform (resize 256, centre crop 224). Random
weights (``weights: random``): speed does not depend on the values.

Run: ``pytest benchmarks/bench_extraction.py --benchmark-only -q -s`` (about a minute on
2 CPU cores; on a GPU, raise ``COUNT``); results in RESULTS.md.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from lbal_bench.kit.compute import torch_device
from lbal_bench.kit.datafiles import ImageArray, ImageFiles
from lbal_bench.kit.extraction import extract
from lbal_bench.kit.torchvision_backbone import TRANSFORMS, build_transform

COUNT = {"cifar10": 2048, "imagenet": 192}
BATCH = 128
WORKERS = min(4, os.cpu_count() or 1)


@pytest.fixture(scope="module")
def model():
    import torch
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18()
    net.fc = torch.nn.Identity()
    return net.eval()


def inputs(preset: str, tmp_path_factory):
    rng = np.random.default_rng(0)
    if preset == "cifar10":
        return ImageArray(rng.integers(0, 256, (COUNT[preset], 32, 32, 3), dtype=np.uint8))
    from PIL import Image

    folder = tmp_path_factory.mktemp("jpeg")
    paths = []
    for i in range(COUNT[preset]):
        paths.append(folder / f"{i}.jpg")
        Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(paths[-1], quality=90)
    return ImageFiles(paths)


@pytest.mark.parametrize("preset", ["cifar10", "imagenet"])
def test_extraction_throughput(benchmark, model, preset, tmp_path_factory):
    import torch

    images = inputs(preset, tmp_path_factory)
    transform = build_transform(TRANSFORMS[preset])
    device = torch_device()
    tensors = torch.stack([transform(images[i]) for i in range(len(images))])

    def model_only():
        with torch.inference_mode(), torch.autocast(device_type=device, enabled=device == "cuda"):
            for start in range(0, len(tensors), BATCH):
                model.to(device)(tensors[start:start + BATCH].to(device)).float().cpu()

    model_only()  # warm-up (cuDNN autotuning, allocator)
    start = time.perf_counter()
    model_only()
    baseline = time.perf_counter() - start
    features = benchmark.pedantic(extract, args=(model, images, transform),
                                  kwargs={"batch_size": BATCH, "workers": WORKERS}, rounds=1, iterations=1)
    assert features.shape == (len(images), 512)
    seconds = benchmark.stats.stats.mean
    print(f"\n{preset}: {len(images)} images on {device}, {WORKERS} workers: extraction {len(images) / seconds:,.0f} "
          f"images/s ({seconds:.2f} s), model alone {len(images) / baseline:,.0f} images/s "
          f"({baseline:.2f} s); overhead ×{seconds / baseline:.2f}")
