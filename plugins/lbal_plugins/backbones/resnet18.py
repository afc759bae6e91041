"""``resnet18``: torchvision's ResNet-18, 512-d features read before ``fc``.

The paper's backbone: ResNet-18 distilled with CompRess from a MoCo-v2 teacher on
unlabeled ImageNet (``weights:`` the CompRess checkpoint, ``{"model": …}`` with a
2048-d projection in ``fc``, which is dropped). ``weights: random`` is Table 13's
random-initialisation ablation. Options and checkpoint layouts:
``lbal_bench.kit.torchvision_backbone`` and ``lbal_bench.kit.checkpoints``.
"""

from __future__ import annotations

from lbal_bench import hookimpl
from lbal_bench.kit.torchvision_backbone import TorchvisionBackbone


class ResNet18(TorchvisionBackbone):
    """ResNet-18 with weights from a checkpoint, torchvision, or a seeded random init."""

    arch = "resnet18"
    accepts = ("pil_images",)  # its transforms read PIL images (lbal_bench.contracts.INPUT_KINDS)


@hookimpl
def lbal_register_backbones(register):
    register("resnet18", ResNet18, description="torchvision ResNet-18 (CompRess/MoCo/BYOL checkpoint, random, torchvision)",
             # `select` on images: torchvision's supervised ImageNet weights, from the torch hub cache
             default_for={"select_images": {"weights": "torchvision:IMAGENET1K_V1"}})
