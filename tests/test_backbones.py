"""The ResNet backbones: checkpoints in each self-supervised layout, random and
torchvision weights, refusals, fingerprints and batched extraction (CPU, 32x32 images)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

import datagen
from lbal_bench import LbalError
from lbal_bench.kit.datafiles import ImageArray, ImageFiles
from lbal_bench.plugins import get_registry
from lbal_bench.kit.torchvision_backbone import TRANSFORMS, build_transform


def make(name: str = "resnet18", **options):
    options = {"transform": "cifar10", "workers": 0, **options}
    return get_registry().create("backbone", name, options)


@pytest.fixture(scope="module")
def images():
    return ImageArray(np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8))


def reference_features(model, images) -> np.ndarray:
    """What the saved model itself computes before its head, image by image."""
    model.fc = torch.nn.Identity()
    transform = build_transform(TRANSFORMS["cifar10"])
    with torch.no_grad():
        return model.eval()(torch.stack([transform(images[i]) for i in range(len(images))])).numpy()


@pytest.mark.parametrize("layout", ["compress", "moco", "byol", "plain"])
def test_checkpoint_layouts_give_the_saved_models_features(tmp_path, images, layout):
    model = datagen.resnet18(seed=1)
    path = datagen.save_checkpoint(model, tmp_path / f"{layout}.pth", layout)
    features = make(weights=str(path)).embed(images)
    assert features.shape == (6, 512) and features.dtype == np.float32
    np.testing.assert_allclose(features, reference_features(model, images), rtol=1e-4, atol=1e-5)


def test_dataloader_workers_and_batches_give_the_same_features(tmp_path, images):
    path = datagen.save_checkpoint(datagen.resnet18(seed=1), tmp_path / "plain.pth", "plain")
    calls = []
    one = make(weights=str(path), batch_size=4).embed(images, progress=calls.append)
    two = make(weights=str(path), batch_size=1, workers=2).embed(images)
    np.testing.assert_allclose(one, two, rtol=1e-4, atol=1e-5)
    assert calls == [4, 2]


def test_random_weights_are_seeded(images):
    a, b, c = make(weights="random"), make(weights="random"), make(weights="random", seed=1)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.fingerprint()["weights"]["kind"] == "random"
    np.testing.assert_array_equal(a.embed(images), b.embed(images))
    assert not np.allclose(a.embed(images), c.embed(images))


def test_fingerprint_holds_architecture_weights_hash_transform_and_dtype(tmp_path):
    path = datagen.save_checkpoint(datagen.resnet18(seed=1), tmp_path / "plain.pth", "plain")
    other = datagen.save_checkpoint(datagen.resnet18(seed=2), tmp_path / "other.pth", "plain")
    base = make(weights=str(path)).fingerprint()
    assert base["name"] == "resnet18"
    assert base["transform"] == {"preset": "cifar10", **TRANSFORMS["cifar10"]}
    assert make(weights=str(path), transform="imagenet").fingerprint()["transform"]["crop"] == 224
    assert make(weights=str(other)).fingerprint()["weights"] != base["weights"]
    assert make(weights=str(path), features_dtype="float16").fingerprint()["features_dtype"] == "float16"
    moved = tmp_path / "moved.pth"
    moved.write_bytes(path.read_bytes())
    assert make(weights=str(moved)).fingerprint() == base  # the content counts, not the path
    assert make(weights=str(path), workers=3, batch_size=7).fingerprint() == base


def test_torchvision_weights_come_from_the_hub_cache_only(tmp_path, monkeypatch, images):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    backbone = make(weights="torchvision:IMAGENET1K_V1")
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(LbalError) as error:
        backbone.embed(images)
    assert str(error.value) == (
        f"backbone 'resnet18': torchvision weights 'IMAGENET1K_V1' are not in the torch hub cache (expected "
        f"{expected}); lbal-bench never downloads: fetch https://download.pytorch.org/models/resnet18-f37072fd.pth there"
    )
    model = datagen.resnet18(seed=3)
    expected.parent.mkdir(parents=True)
    torch.save(model.state_dict(), expected)
    features = make(weights="torchvision:IMAGENET1K_V1").embed(images)
    np.testing.assert_allclose(features, reference_features(model, images), rtol=1e-4, atol=1e-5)
    assert make(weights="torchvision:DEFAULT").fingerprint()["weights"]["kind"] == "torchvision"
    with pytest.raises(LbalError) as error:
        make(weights="torchvision:IMAGENET9K").fingerprint()
    assert str(error.value) == (
        "backbone 'resnet18': unknown torchvision weights 'IMAGENET9K' (choices: IMAGENET1K_V1)"
    )


class NotATensor:
    """A class a checkpoint might pickle."""


def test_checkpoint_with_pickled_code_is_refused(tmp_path, images):
    path = tmp_path / "code.pth"
    torch.save({"model": datagen.resnet18().state_dict(), "hook": NotATensor()}, path)
    with pytest.raises(LbalError) as error:
        make(weights=str(path)).embed(images)
    assert str(error.value) == (
        f"{path}: refused: the checkpoint contains pickled Python code (test_backbones.NotATensor), which "
        "torch.load(weights_only=True) does not run; re-save its state dict with torch.save(model.state_dict(), path)"
    )


def test_training_arguments_saved_beside_the_weights_are_accepted(tmp_path, images):
    model = datagen.resnet18(seed=4)
    path = tmp_path / "with_args.pth"
    torch.save({"opt": argparse.Namespace(lr=0.1, arch="resnet18"), "model": model.state_dict()}, path)
    np.testing.assert_allclose(make(weights=str(path)).embed(images), reference_features(model, images),
                               rtol=1e-4, atol=1e-5)


def test_mismatched_checkpoints_are_refused_naming_keys(tmp_path, images):
    state = datagen.resnet18().state_dict()
    cut = {k: v for k, v in state.items() if not k.startswith("layer4.1.")}
    torch.save({"model": {f"module.{k}": v for k, v in cut.items()} | {"module.extra.weight": torch.ones(1)}},
               tmp_path / "cut.pth")
    with pytest.raises(LbalError) as error:
        make(weights=str(tmp_path / "cut.pth")).embed(images)
    assert str(error.value) == (
        f"{tmp_path / 'cut.pth'}: checkpoint does not match torchvision resnet18 under prefix 'module.': "
        "10 missing keys (layer4.1.conv1.weight, layer4.1.bn1.weight, layer4.1.bn1.bias, … 7 more); "
        "1 unexpected keys (module.extra.weight)"
    )
    torch.save(state, tmp_path / "r18.pth")
    with pytest.raises(LbalError) as error:
        make("resnet50", weights=str(tmp_path / "r18.pth")).embed(images)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'r18.pth'}: checkpoint does not match torchvision resnet50: ")
    assert "missing keys (layer1.0.conv3.weight" in message and "\n" not in message
    torch.save({"encoder.weight": torch.ones(2)}, tmp_path / "other.pth")
    with pytest.raises(LbalError) as error:
        make(weights=str(tmp_path / "other.pth")).embed(images)
    assert str(error.value) == (
        f"{tmp_path / 'other.pth'}: no torchvision resnet18 weights found (expected keys like conv1.weight; "
        "the checkpoint has encoder.weight)"
    )


def test_unreadable_checkpoints(tmp_path, images):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(LbalError) as error:
        make(weights=str(junk)).embed(images)
    assert str(error.value).startswith(f"{junk}: not a readable PyTorch checkpoint (")
    torch.save({"epoch": 3}, tmp_path / "empty.pth")
    with pytest.raises(LbalError) as error:
        make(weights=str(tmp_path / "empty.pth")).embed(images)
    assert str(error.value) == f"{tmp_path / 'empty.pth'}: no tensors found in the checkpoint (top level: epoch)"


@pytest.mark.parametrize(("options", "message"), [
    ({}, "option 'weights' is required: a checkpoint file, 'random' or 'torchvision:NAME'"),
    ({"weights": "/nowhere/ckpt.pth"}, "weights file /nowhere/ckpt.pth is missing"),
    ({"weights": "random", "transform": "big"}, "transform must be one of imagenet, cifar10, cifar100, upsample224, got 'big'"),
    ({"weights": "random", "features_dtype": "int8"}, "features_dtype must be float32 or float16, got 'int8'"),
    ({"weights": "random", "workers": -1}, "workers must be an integer >= 0, got -1"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(LbalError) as error:
        get_registry().create("backbone", "resnet18", options)
    assert str(error.value) == f"backbone 'resnet18': {message}"


def test_unreadable_image_in_a_worker_is_one_line(tmp_path):
    good = datagen.image_folder(tmp_path, ["a"], 2, suffix=".png")
    broken = tmp_path / "a" / "broken.png"
    broken.write_bytes(b"no image")
    with pytest.raises(LbalError) as error:
        make(weights="random", transform="upsample224", workers=1).embed(ImageFiles([*good, broken]))
    assert str(error.value).startswith(f"{broken}: cannot read image (") and "\n" not in str(error.value)


def test_upsampling_transform_feeds_224_pixels(images):
    assert build_transform(TRANSFORMS["upsample224"])(images[0]).shape == (3, 224, 224)
    assert build_transform(TRANSFORMS["imagenet"])(images[0]).shape == (3, 224, 224)
    assert build_transform(TRANSFORMS["cifar10"])(images[0]).shape == (3, 32, 32)


def test_resnet50_reads_a_moco_checkpoint(tmp_path, images):
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    path = datagen.save_checkpoint(model, tmp_path / "moco_r50.pth", "moco")
    features = make("resnet50", weights=str(path)).embed(images)
    assert features.shape == (6, 2048)
    np.testing.assert_allclose(features, reference_features(model, images), rtol=1e-4, atol=1e-4)


def test_weights_path_reads_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    datagen.save_checkpoint(datagen.resnet18(), tmp_path / "c.pth", "plain")
    assert Path(make(weights="~/c.pth").weights) == tmp_path / "c.pth"


def test_every_reference_backbone_declares_what_it_embeds_and_embeds_it(images):
    reference = [p for p in get_registry().all() if p.kind == "backbone" and p.distribution == "lbal-bench"]
    assert {p.name: p.factory.accepts for p in reference} == {
        "pixels": ("image_arrays", "pil_images"), "resnet18": ("pil_images",), "resnet50": ("pil_images",),
        "tiny_cnn": ("image_arrays", "pil_images"),
    }
    arrays = np.random.default_rng(0).random((3, 8, 8), dtype=np.float32) * 16  # as digits holds them
    for name in ("pixels", "tiny_cnn"):
        backbone = get_registry().create("backbone", name, {})
        assert backbone.embed(arrays).shape[0] == 3 and backbone.embed(images).shape[0] == len(images)
    with pytest.raises(Exception):  # why resnet18 declares PIL images only
        make(weights="random").embed(arrays)
