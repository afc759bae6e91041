"""``resnet50``: torchvision's ResNet-50, 2048-d features read before ``fc``.

The paper's Table 14 backbone: ResNet-50 trained with MoCo-v2 for 800 epochs
(``weights:`` the MoCo checkpoint, ``{"state_dict": {"module.encoder_q.…"}}``; the key
encoder and the MLP head are dropped). Options and checkpoint layouts:
``lbal_bench.kit.torchvision_backbone`` and ``lbal_bench.kit.checkpoints``.
"""

from __future__ import annotations

from lbal_bench import hookimpl
from lbal_bench.kit.torchvision_backbone import TorchvisionBackbone


class ResNet50(TorchvisionBackbone):
    """ResNet-50 with weights from a checkpoint, torchvision, or a seeded random init."""

    arch = "resnet50"
    accepts = ("pil_images",)  # its transforms read PIL images (lbal_bench.contracts.INPUT_KINDS)


@hookimpl
def lbal_register_backbones(register):
    register("resnet50", ResNet50, description="torchvision ResNet-50 (MoCo-v2/CompRess/BYOL checkpoint, random, torchvision)")
