"""``tiny_cnn``: a small convolutional network, so that the image evaluators (``finetune``,
``fixmatch``) run on a CPU.

Three 3×3 convolution–BatchNorm–ReLU blocks (32, 64, 128 channels; 2×2 max-pooling
after the second) and global average pooling: 128-d features, 93k parameters, any input
size of at least 2×2. Images may be numeric arrays ``[H, W]`` or ``[H, W, C]`` (e.g.
scikit-learn's 8×8 digits) or PIL images; grey images are repeated to three channels.

Options:

- ``weights``: ``random`` (seeded initialisation, the default) or a checkpoint file
  holding the network's state dict (``torch.save(backbone.network().state_dict(), path)``,
  read with ``torch.load(weights_only=True)``).
- ``seed``: the initialisation seed of ``weights: random``.
- ``max_value``: the pixel value that maps to 1 for numeric arrays (16 for digits);
  by default 255 for integer arrays and 1 for float arrays. PIL images are 0–255.
- ``size``: null keeps each image's size; a number resizes the shorter side and crops
  the centre to ``size`` × ``size``.
- ``batch_size``: embedding batch size (a runtime option).

It is a ``TrainableBackbone``: ``network()`` returns a fresh copy of the network and
``preprocess`` turns one image into a ``[3, H, W]`` tensor in ``[0, 1]``; ``embed``
runs the network through ``lbal_bench.kit.extraction.extract``.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Annotated

import numpy as np
from annotated_types import Ge, Gt

from lbal_bench import LbalError, hookimpl
from lbal_bench.kit.checkpoints import read_state_dict, state_sha256
from lbal_bench.kit.datafiles import sha256_file
from lbal_bench.kit.extraction import extract


class Preprocess:
    """One image → float32 tensor ``[3, H, W]`` in ``[0, 1]`` (picklable, for DataLoader workers)."""

    def __init__(self, max_value: float | None, size: int | None):
        self.max_value = max_value
        self.size = size

    def __call__(self, image):
        import torch
        from PIL import Image
        from torchvision.transforms.v2 import functional

        if isinstance(image, Image.Image):
            array, scale = np.asarray(image.convert("RGB")), 255.0
        else:
            array = np.asarray(image)
            scale = self.max_value or (255.0 if np.issubdtype(array.dtype, np.integer) else 1.0)
        x = torch.as_tensor(np.array(array, dtype=np.float32) / scale)
        x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)
        x = x.expand(3, -1, -1) if len(x) == 1 else x
        if self.size is not None:
            x = functional.center_crop(functional.resize(x, self.size, antialias=True), [self.size, self.size])
        return x.clamp(0, 1).contiguous()


class TinyCNN:
    """A three-block CNN, random (seeded) or from a checkpoint."""

    accepts = ("image_arrays", "pil_images")  # see Preprocess (lbal_bench.contracts.INPUT_KINDS)

    runtime_options = ("batch_size", "weights")  # the fingerprint holds the weights' kind and hash

    def __init__(self, weights: str = "random", seed: int = 0, max_value: Annotated[float, Gt(0)] | None = None,
                 size: Annotated[int, Ge(2)] | None = None, batch_size: int = 256):
        if weights != "random" and not Path(weights).expanduser().is_file():
            raise ValueError(f"weights must be 'random' or a checkpoint file; {weights} is missing")
        self.weights = weights if weights == "random" else str(Path(weights).expanduser())
        self.seed = seed
        self.max_value = max_value
        self.size = size
        self.batch_size = batch_size

    @staticmethod
    def _architecture():
        import torch.nn as nn

        def block(cin: int, cout: int) -> list:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        return nn.Sequential(*block(3, 32), *block(32, 64), nn.MaxPool2d(2), *block(64, 128),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten())

    @functools.cached_property
    def model(self):
        """The network with its weights (built on first use)."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = self._architecture()
        if self.weights != "random":
            state = read_state_dict(self.weights)
            expected = model.state_dict()
            missing = sorted(set(expected) - set(state))
            unexpected = sorted(set(state) - set(expected))
            misshapen = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
            if missing or unexpected or misshapen:
                first = (missing or unexpected or misshapen)[0]
                raise LbalError(f"{self.weights}: checkpoint does not match tiny_cnn ({len(missing)} missing, "
                                f"{len(unexpected)} unexpected, {len(misshapen)} misshapen keys; first: {first})")
            model.load_state_dict(state)
        return model.eval()

    @property
    def preprocess(self) -> Preprocess:
        """One image → ``[3, H, W]`` float tensor in ``[0, 1]``."""
        return Preprocess(self.max_value, self.size)

    def network(self):
        """A fresh trainable copy of the network (preprocessed batch → 128-d features)."""
        return copy.deepcopy(self.model).train()

    def fingerprint(self) -> dict:
        """Name, weights (kind and hash), and the preprocessing options."""
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> dict:
        if self.weights == "random":
            weights = {"kind": "random", "seed": self.seed, "sha256": state_sha256(self.model)}
        else:
            weights = {"kind": "file", "sha256": sha256_file(self.weights)}
        return {"name": "tiny_cnn", "version": 1, "weights": weights, "max_value": self.max_value, "size": self.size}

    def embed(self, images, progress=None) -> np.ndarray:
        """``float32 [N, 128]``: the network's pooled features."""
        return extract(self.model, images, self.preprocess, batch_size=self.batch_size, progress=progress)


@hookimpl
def lbal_register_backbones(register):
    register("tiny_cnn", TinyCNN, description="small 3-block CNN (random or checkpoint), trainable on CPU")
