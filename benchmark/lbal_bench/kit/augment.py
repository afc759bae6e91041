"""Random augmentations of preprocessed images (float tensors ``[C, H, W]`` in ``[0, 1]``),
shared by the image evaluators:

- ``FlipTranslate``: FixMatch's weak augmentation: a horizontal flip with probability
  1/2 (optional) and a random translation by up to 12.5% of the side (reflect padding,
  then a random crop back to the original size).
- ``StrongAugment``: FixMatch's strong augmentation (the RandAugment variant of Sohn et
  al. 2020): the weak one, then two RandAugment operations at a magnitude drawn per
  image (torchvision's ``RandAugment`` with 11 bins, magnitude 1–10), then Cutout: a
  grey square of side up to half the image, centred anywhere (clipped at the border).
- ``ResizedCrop``: the ImageNet training crop (``RandomResizedCrop`` to the input size,
  scale 0.08–1) with an optional flip: the paper's fine-tuning augmentation.

Every draw comes from torch's global CPU generator: the image evaluators seed it per
image (``lbal_bench.kit.imagetraining.Views``), so a seed gives the same augmentations in any
process. The classes are picklable, for DataLoader workers.
"""

from __future__ import annotations

import torch


def _flip(x: torch.Tensor, flip: bool) -> torch.Tensor:
    return x.flip(-1) if flip and bool(torch.rand(()) < 0.5) else x


class FlipTranslate:
    """Random horizontal flip (if ``flip``) and translation by up to ``fraction`` of the side."""

    def __init__(self, flip: bool = True, fraction: float = 0.125):
        self.flip = flip
        self.fraction = fraction

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _flip(x, self.flip)
        h, w = x.shape[-2:]
        pad = min(max(1, round(self.fraction * max(h, w))), h - 1, w - 1)
        if pad < 1:
            return x
        padded = torch.nn.functional.pad(x[None], (pad, pad, pad, pad), mode="reflect")[0]
        top, left = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,)))
        return padded[:, top:top + h, left:left + w]


class Cutout:
    """A square of side uniform in ``[1, fraction · side]`` set to ``fill``, centred at a
    random pixel (the part outside the image is dropped), as FixMatch's Cutout."""

    def __init__(self, fraction: float = 0.5, fill: float = 0.5):
        self.fraction = fraction
        self.fill = fill

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        side = int(torch.randint(1, max(1, int(self.fraction * min(h, w))) + 1, ()))
        cy, cx = int(torch.randint(0, h, ())), int(torch.randint(0, w, ()))
        top, left = max(0, cy - side // 2), max(0, cx - side // 2)
        x = x.clone()
        x[:, top:cy - side // 2 + side, left:cx - side // 2 + side] = self.fill
        return x


class StrongAugment:
    """FixMatch's strong augmentation: ``FlipTranslate``, RandAugment (two operations,
    random magnitude 1–10 of 10), ``Cutout``."""

    def __init__(self, flip: bool = True, num_ops: int = 2, max_magnitude: int = 10):
        from torchvision.transforms import v2

        self.weak = FlipTranslate(flip)
        self.randaugment = [v2.RandAugment(num_ops=num_ops, magnitude=m, num_magnitude_bins=max_magnitude + 1)
                            for m in range(1, max_magnitude + 1)]
        self.cutout = Cutout()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        operations = self.randaugment[int(torch.randint(0, len(self.randaugment), ()))]
        return self.cutout(operations(self.weak(x)).clamp_(0, 1))


class ResizedCrop:
    """A random crop of 8–100% of the area (aspect 3/4–4/3) resized to the input's size,
    then a horizontal flip with probability 1/2 (if ``flip``)."""

    def __init__(self, flip: bool = True):
        self.flip = flip
        self._crops: dict = {}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from torchvision.transforms import v2

        size = tuple(x.shape[-2:])
        crop = self._crops.setdefault(size, v2.RandomResizedCrop(size, antialias=True))
        return _flip(crop(x), self.flip)
