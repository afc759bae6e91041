"""A torchvision classification network as a frozen backbone: the base of the ResNet plugins.

A plugin subclasses ``TorchvisionBackbone`` and sets ``arch`` (a torchvision model name);
its options are the constructor's:

- ``weights``: a checkpoint file (CompRess, MoCo, BYOL or plain layouts, see
  ``lbal_bench.kit.checkpoints``), ``"random"`` (seeded random initialisation) or
  ``"torchvision:NAME"`` (torchvision's own weights, e.g. ``torchvision:IMAGENET1K_V1``,
  read from the torch hub cache and never downloaded).
- ``transform``: a preset of ``TRANSFORMS``; the features are read before ``fc``.
- ``features_dtype``: ``float32`` or ``float16`` storage in the feature cache.
- ``seed``: the initialisation seed of ``weights: random``.
- ``batch_size``, ``workers``: the DataLoader's; they do not change the features, so
  they are ``runtime_options`` (left out of cell fingerprints), as is ``weights``: the
  fingerprint identifies the weights by kind and hash, so a moved checkpoint file keeps
  its cached features and results.

It is a ``TrainableBackbone`` (``lbal_bench.contracts``): ``network()`` returns a fresh
trainable copy (input normalisation included) and ``preprocess`` the transform up to a
``[0, 1]`` tensor, for the image evaluators (``finetune``, ``fixmatch``).

The constructor only checks its options (cheap); torch and the weights load on first use.
The fingerprint holds the architecture, the SHA-256 of the weights (of the file, or of
the initialised tensors for ``random``), the transform and the storage dtype.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .checkpoints import match_state_dict, read_state_dict, state_sha256
from .datafiles import sha256_file
from ..errors import LbalError
from .extraction import extract

IMAGENET_STATS = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}

TRANSFORMS: dict[str, dict] = {
    # the standard evaluation transform (the paper's ImageNet / ImageNet-LT features)
    "imagenet": {"resize": 256, "crop": 224, **IMAGENET_STATS},
    # the paper's code on CIFAR: 32x32 images as they are, normalised with CIFAR's statistics
    "cifar10": {"resize": None, "crop": None, "mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616]},
    "cifar100": {"resize": None, "crop": None, "mean": [0.5071, 0.4865, 0.4409], "std": [0.2673, 0.2564, 0.2762]},
    # small images upsampled to the 224x224 input the ImageNet-trained network saw
    "upsample224": {"resize": [224, 224], "crop": None, **IMAGENET_STATS},
}

TORCHVISION_PREFIX = "torchvision:"


def build_transform(preset: dict, normalise: bool = True) -> Callable[[Any], Any]:
    """The torchvision transform of a ``TRANSFORMS`` entry: resize, centre crop, tensor,
    normalise (unless ``normalise`` is false: then a tensor in ``[0, 1]``)."""
    from torchvision import transforms

    steps = []
    if preset["resize"] is not None:
        steps.append(transforms.Resize(preset["resize"]))
    if preset["crop"] is not None:
        steps.append(transforms.CenterCrop(preset["crop"]))
    steps.append(transforms.ToTensor())
    if normalise:
        steps.append(transforms.Normalize(preset["mean"], preset["std"]))
    return transforms.Compose(steps)


def _count(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


class TorchvisionBackbone:
    """A torchvision network with its classification head removed; ``arch`` names it."""

    arch = ""
    accepts = ("pil_images",)  # the torchvision transforms read PIL images (lbal_bench.contracts.INPUT_KINDS)
    runtime_options = ("batch_size", "workers", "weights")  # the fingerprint holds the weights' kind and hash

    def __init__(
        self,
        weights: str | None = None,
        transform: str = "imagenet",
        features_dtype: str = "float32",
        seed: int = 0,
        batch_size: int = 128,
        workers: int = 4,
    ):
        if not weights:
            raise ValueError("option 'weights' is required: a checkpoint file, 'random' or 'torchvision:NAME'")
        if transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {transform!r}")
        if features_dtype not in ("float32", "float16"):
            raise ValueError(f"features_dtype must be float32 or float16, got {features_dtype!r}")
        _count("batch_size", batch_size, 1)
        _count("workers", workers, 0)
        _count("seed", seed, 0)
        self.weights = str(weights)
        if self.weights != "random" and not self.weights.startswith(TORCHVISION_PREFIX):
            path = Path(self.weights).expanduser()
            if not path.is_file():
                raise ValueError(f"weights file {path} is missing")
            self.weights = str(path)
        self.transform = transform
        self.features_dtype = features_dtype
        self.seed = seed
        self.batch_size = batch_size
        self.workers = workers

    def _architecture(self):
        """A freshly initialised network, seeded, with ``fc`` replaced by the identity."""
        import torch
        import torchvision

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = torchvision.models.get_model(self.arch, weights=None)
        model.fc = torch.nn.Identity()
        return model

    @functools.cached_property
    def _torchvision_file(self) -> Path:
        """The torch hub cache file of ``torchvision:NAME`` weights; an error if not there."""
        import torch
        import torchvision

        name = self.weights[len(TORCHVISION_PREFIX):]
        try:
            enum = torchvision.models.get_model_weights(self.arch)
            url = enum[name].url
        except KeyError:
            choices = ", ".join(w.name for w in torchvision.models.get_model_weights(self.arch))
            raise LbalError(f"backbone '{self.arch}': unknown torchvision weights '{name}' (choices: {choices})") from None
        path = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
        if not path.is_file():
            raise LbalError(
                f"backbone '{self.arch}': torchvision weights '{name}' are not in the torch hub cache "
                f"(expected {path}); lbal-bench never downloads: fetch {url} there"
            )
        return path

    @functools.cached_property
    def _weights_file(self) -> Path | None:
        if self.weights == "random":
            return None
        if self.weights.startswith(TORCHVISION_PREFIX):
            return self._torchvision_file
        return Path(self.weights)

    @functools.cached_property
    def model(self):
        """The network with its weights loaded (on first use)."""
        model = self._architecture()
        if self._weights_file is not None:
            state = read_state_dict(self._weights_file)
            model.load_state_dict(match_state_dict(state, model.state_dict(), self._weights_file, self.arch))
        return model

    def _weights_sha256(self) -> str:
        if self._weights_file is not None:
            return sha256_file(self._weights_file)
        return state_sha256(self.model)

    def fingerprint(self) -> dict:
        """Architecture, weights hash, transform and storage dtype (computed once)."""
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> dict:
        kind = "random" if self.weights == "random" else (
            "torchvision" if self.weights.startswith(TORCHVISION_PREFIX) else "file")
        weights = {"kind": kind, "sha256": self._weights_sha256()}
        if kind == "random":
            weights["seed"] = self.seed
        if kind == "torchvision":
            weights["name"] = self.weights[len(TORCHVISION_PREFIX):]
        return {"name": self.arch, "version": 1, "weights": weights,
                "transform": {"preset": self.transform, **TRANSFORMS[self.transform]},
                "features_dtype": self.features_dtype}

    @property
    def preprocess(self) -> Callable[[Any], Any]:
        """One PIL image → float tensor ``[3, H, W]`` in ``[0, 1]``: the transform without
        its normalisation, which ``network()`` applies."""
        return build_transform(TRANSFORMS[self.transform], normalise=False)

    def network(self):
        """A fresh trainable copy of the network with its weights: a batch of preprocessed
        images → features before ``fc`` (the transform's normalisation is its first layer)."""
        import torch
        from torchvision import transforms

        preset = TRANSFORMS[self.transform]
        normalise = transforms.Normalize(preset["mean"], preset["std"])
        return torch.nn.Sequential(normalise, copy.deepcopy(self.model)).train()

    def embed(self, images, progress=None) -> np.ndarray:
        """``float32 [N, D]``: the network's pooled features of ``images`` (PIL images)."""
        return extract(self.model, images, build_transform(TRANSFORMS[self.transform]),
                       batch_size=self.batch_size, workers=self.workers, progress=progress)
