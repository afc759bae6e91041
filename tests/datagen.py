"""Miniature datasets and checkpoints in the real on-disk formats, written for tests.

Each writer produces the files the real download unpacks to (same names, same
containers: CIFAR's pickled batches, JPEG/PNG trees, MATLAB files, list files), only
with a few small random images.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def _images(rng: np.random.Generator, n: int, size: int = 32) -> np.ndarray:
    return rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def _save(path: Path, pixels: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def cifar(root: Path, per_batch: int = 4, hundred: bool = False, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` (or ``cifar-100-python``): python batches of random images,
    labels cycling through the classes."""
    rng = np.random.default_rng(seed)
    classes = 100 if hundred else 10
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True, exist_ok=True)
    key = "fine_labels" if hundred else "labels"
    files = ["train", "test"] if hundred else [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for number, name in enumerate(files):
        n = per_batch * (5 if hundred and name == "train" else 1)
        labels = [(number * per_batch + i) % classes for i in range(n)]  # the pool covers every class it can
        batch = {"batch_label": name, "data": _images(rng, n).transpose(0, 3, 1, 2).reshape(n, -1),
                 key: labels, "filenames": [f"{name}_{i}.png" for i in range(n)]}
        if hundred:
            batch["coarse_labels"] = [0] * n
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {"fine_label_names": [f"class{c}" for c in range(classes)], "coarse_label_names": ["all"]} if hundred \
        else {"label_names": [f"class{c}" for c in range(classes)], "num_cases_per_batch": per_batch}
    (folder / ("meta" if hundred else "batches.meta")).write_bytes(pickle.dumps(meta))
    return folder


def image_folder(root: Path, classes: list[str], per_class: int, seed: int = 0, suffix: str = ".JPEG") -> list[Path]:
    """``root/<class>/<class>_<i><suffix>`` random images."""
    rng = np.random.default_rng(seed)
    return [_save(root / c / f"{c}_{i}{suffix}", _images(rng, 1, 40)[0]) for c in classes for i in range(per_class)]


WNIDS = ["n01440764", "n01443537", "n01484850"]


def imagenet(root: Path, per_class: int = 3) -> Path:
    """An ImageFolder ImageNet: ``train/<wnid>/…JPEG`` and ``val/<wnid>/…JPEG``."""
    image_folder(root / "train", WNIDS, per_class, seed=1)
    image_folder(root / "val", WNIDS, 2, seed=2)
    return root


def imagenet_lt_lists(root: Path, lists: Path) -> Path:
    """ImageNet-LT list files over ``imagenet(root)``: a long tail (3, 2, 1 images) and all of val."""
    lists.mkdir(parents=True, exist_ok=True)
    train = [f"train/{w}/{w}_{i}.JPEG {c}" for c, w in enumerate(WNIDS) for i in range(3 - c)]
    test = [f"val/{w}/{w}_{i}.JPEG {c}" for c, w in enumerate(WNIDS) for i in range(2)]
    (lists / "ImageNet_LT_train.txt").write_text("\n".join(train) + "\n")
    (lists / "ImageNet_LT_test.txt").write_text("\n".join(test) + "\n")
    return lists


def flowers102(root: Path, classes: int = 3) -> Path:
    """``jpg/image_00001.jpg`` …, ``imagelabels.mat`` and ``setid.mat`` (1-based ids)."""
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    n = classes * 4
    for i in range(1, n + 1):
        _save(root / "jpg" / f"image_{i:05d}.jpg", _images(rng, 1, 40)[0])
    savemat(root / "imagelabels.mat", {"labels": np.repeat(np.arange(1, classes + 1), 4)[None, :]})
    ids = np.arange(1, n + 1).reshape(classes, 4)
    savemat(root / "setid.mat", {"trnid": ids[:, :2].reshape(1, -1), "valid": ids[:, 2:3].reshape(1, -1),
                                 "tstid": ids[:, 3:].reshape(1, -1)})
    return root


def dtd(root: Path) -> Path:
    """``dtd/images/<class>/…jpg`` and ``dtd/labels/{train,val,test}1.txt``."""
    base = root / "dtd"
    classes = ["banded", "blotchy", "braided"]
    files = image_folder(base / "images", classes, 3, seed=4, suffix=".jpg")
    (base / "labels").mkdir(parents=True)
    for i, split in enumerate(("train", "val", "test")):
        lines = [f"{f.parent.name}/{f.name}" for f in files if f.stem.endswith(f"_{i}")]
        (base / "labels" / f"{split}1.txt").write_text("\n".join(lines) + "\n")
    return base


def aircraft(root: Path, per_class: int = 10) -> Path:
    """``fgvc-aircraft-2013b/data/``: images, ``images_variant_{trainval,test}.txt``, ``variants.txt``."""
    data = root / "fgvc-aircraft-2013b" / "data"
    variants = ["707-320", "Cessna 172", "A300B4"]
    rng = np.random.default_rng(5)
    trainval, test = [], []
    for v, variant in enumerate(variants):
        for i in range(per_class + 2):
            image = f"{v}{i:06d}"
            _save(data / "images" / f"{image}.jpg", _images(rng, 1, 40)[0])
            (test if i >= per_class else trainval).append(f"{image} {variant}")
    (data / "images_variant_trainval.txt").write_text("\n".join(trainval) + "\n")
    (data / "images_variant_test.txt").write_text("\n".join(test) + "\n")
    (data / "variants.txt").write_text("\n".join(variants) + "\n")
    return data.parent


def resnet18(seed: int = 0):
    """A torchvision ResNet-18 with seeded random weights, in eval mode."""
    import torch
    import torchvision

    torch.manual_seed(seed)
    return torchvision.models.resnet18().eval()


def save_checkpoint(model, path: Path, layout: str) -> Path:
    """Save ``model``'s weights as the layout's checkpoints are saved.

    ``compress``: ``{"model": …}``, ``module.`` prefixes, a 2048-d projection in ``fc``;
    ``moco``: ``{"state_dict": …}``, ``module.encoder_q.`` (and a different ``encoder_k``),
    an MLP head, plus epoch and optimizer entries; ``byol``: ``online_network.encoder.`` and
    ``target_network.encoder.``; ``plain``: ``model.state_dict()`` as is.
    """
    import torch

    state = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    if layout == "plain":
        payload = model.state_dict()
    elif layout == "compress":
        payload = {"model": {**{f"module.{k}": v for k, v in state.items()},
                             "module.fc.weight": torch.randn(2048, 512), "module.fc.bias": torch.zeros(2048)},
                   "epoch": 130}
    elif layout == "moco":
        other = {f"module.encoder_k.{k}": v + 1 if v.is_floating_point() else v for k, v in state.items()}
        head = {"module.encoder_q.fc.0.weight": torch.randn(512, 512), "module.encoder_q.fc.2.weight": torch.randn(128, 512)}
        payload = {"epoch": 800, "arch": "resnet18", "optimizer": {"state": {}, "param_groups": [{"lr": 0.03}]},
                   "state_dict": {**{f"module.encoder_q.{k}": v for k, v in state.items()}, **head, **other,
                                  "module.queue": torch.randn(128, 16)}}
    elif layout == "byol":
        payload = {**{f"target_network.encoder.{k}": torch.zeros_like(v) for k, v in state.items()},
                   **{f"online_network.encoder.{k}": v for k, v in state.items()}}
    else:
        raise ValueError(layout)
    torch.save(payload, path)
    return path
