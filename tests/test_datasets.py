"""The real-data dataset plugins, through the registry, on miniature copies of each
dataset written in its true on-disk format (tests/datagen.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import datagen
from lbal_bench import LbalError
from lbal_bench.plugins import get_registry


def make(name: str, **options):
    return get_registry().create("dataset", name, options)


def check_images(split, size: int | None = None):
    image = split.images[0]
    assert isinstance(image, Image.Image) and image.mode == "RGB"
    if size:
        assert image.size == (size, size)
    assert len(split.images) == len(split.labels)


@pytest.mark.parametrize("hundred", [False, True], ids=["cifar10", "cifar100"])
def test_cifar_reads_the_python_batches(tmp_path, hundred):
    folder = datagen.cifar(tmp_path, per_batch=4, hundred=hundred)
    name = "cifar100" if hundred else "cifar10"
    for root in (tmp_path, folder):  # torchvision's root, or the batches folder itself
        data = make(name, root=str(root))
        train, test = data.split("train"), data.split("test")
        assert (len(train), len(test)) == (20, 4)
        assert data.num_classes == (100 if hundred else 10) and data.class_names[1] == "class1"
        check_images(train, 32)
    # pixels and labels are the batch's, in file order: row-major channel planes → HWC
    batch = pickle.loads((folder / ("train" if hundred else "data_batch_1")).read_bytes())
    first = np.asarray(batch["data"][0]).reshape(3, 32, 32).transpose(1, 2, 0)
    assert np.array_equal(np.asarray(train.images[0]), first)
    assert train.labels[:4].tolist() == batch["fine_labels" if hundred else "labels"][:4]


def test_cifar_fingerprint_hashes_the_content(tmp_path):
    folder = datagen.cifar(tmp_path)
    before = make("cifar10", root=str(tmp_path)).fingerprint()
    assert before == make("cifar10", root=str(folder)).fingerprint()
    data = pickle.loads((folder / "test_batch").read_bytes())
    data["data"][0, 0] ^= 1  # one pixel changed, same size
    (folder / "test_batch").write_bytes(pickle.dumps(data))
    assert make("cifar10", root=str(tmp_path)).fingerprint() != before


def test_cifar_missing_root_and_missing_batch(tmp_path):
    with pytest.raises(LbalError) as error:
        make("cifar10", root=str(tmp_path / "nowhere"))
    assert str(error.value) == (
        f"dataset 'cifar10': root {tmp_path / 'nowhere'} is missing; the CIFAR python version from "
        "https://www.cs.toronto.edu/~kriz/cifar.html, or download: true"
    )
    folder = datagen.cifar(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(LbalError) as error:
        make("cifar10", root=str(tmp_path))
    assert str(error.value).startswith(f"dataset 'cifar10': expected file {folder / 'data_batch_3'} is missing; ")


def test_cifar_batch_with_pickled_code_is_refused(tmp_path):
    folder = datagen.cifar(tmp_path)
    (folder / "test_batch").write_bytes(pickle.dumps({"data": Path("x"), "labels": []}))
    data = make("cifar10", root=str(tmp_path))
    with pytest.raises(LbalError) as error:
        data.split("test")
    assert str(error.value) == f"{folder / 'test_batch'}: not a CIFAR python batch (refusing to load pathlib.PosixPath)"


def test_imagenet_image_folders(tmp_path):
    datagen.imagenet(tmp_path)
    data = make("imagenet", root=str(tmp_path))
    train, test = data.split("train"), data.split("test")
    assert data.class_names == datagen.WNIDS and data.num_classes == 3
    assert train.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and test.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert train.images.paths[0] == str(tmp_path / "train" / "n01440764" / "n01440764_0.JPEG")
    check_images(test, 40)
    with pytest.raises(LbalError) as error:
        make("imagenet", root=str(tmp_path / "nowhere"))
    assert str(error.value).startswith(f"dataset 'imagenet': root {tmp_path / 'nowhere'} is missing; ILSVRC2012")
    (tmp_path / "val").rename(tmp_path / "validation")
    with pytest.raises(LbalError) as error:
        make("imagenet", root=str(tmp_path))
    assert str(error.value).startswith(f"dataset 'imagenet': expected folder {tmp_path / 'val'} is missing; ")


def test_imagenet_fingerprint_sees_a_removed_image_and_a_resized_one(tmp_path):
    datagen.imagenet(tmp_path)
    before = make("imagenet", root=str(tmp_path)).fingerprint()
    assert before["splits"] == {"train": 9, "test": 6}
    image = tmp_path / "train" / "n01443537" / "n01443537_1.JPEG"
    image.write_bytes(image.read_bytes() + b"\0")
    assert make("imagenet", root=str(tmp_path)).fingerprint() != before


def test_imagenet_lt_lists(tmp_path):
    datagen.imagenet(tmp_path / "imagenet")
    lists = datagen.imagenet_lt_lists(tmp_path / "imagenet", tmp_path / "lists")
    data = make("imagenet_lt", root=str(tmp_path / "imagenet"), lists=str(lists))
    train, test = data.split("train"), data.split("test")
    assert np.bincount(train.labels).tolist() == [3, 2, 1]  # the long tail
    assert np.bincount(test.labels).tolist() == [2, 2, 2]  # ImageNet's validation images
    assert data.class_names == datagen.WNIDS
    check_images(train, 40)
    assert data.fingerprint()["splits"] == {"train": 6, "test": 6}


def test_imagenet_lt_errors_name_the_file(tmp_path):
    datagen.imagenet(tmp_path / "imagenet")
    lists = datagen.imagenet_lt_lists(tmp_path / "imagenet", tmp_path / "lists")
    root = str(tmp_path / "imagenet")
    (lists / "ImageNet_LT_test.txt").unlink()
    with pytest.raises(LbalError) as error:
        make("imagenet_lt", root=root, lists=str(lists))
    assert str(error.value) == (
        f"dataset 'imagenet_lt': expected file {lists / 'ImageNet_LT_test.txt'} is missing; the ImageNet-LT "
        "split lists of the OLTR code (ImageNet_LT_train.txt, ImageNet_LT_test.txt)"
    )
    datagen.imagenet_lt_lists(tmp_path / "imagenet", lists)
    missing = tmp_path / "imagenet" / "train" / "n01443537" / "n01443537_1.JPEG"
    missing.unlink()
    with pytest.raises(LbalError) as error:
        make("imagenet_lt", root=root, lists=str(lists)).fingerprint()
    assert str(error.value) == f"dataset 'imagenet_lt': expected file {missing} is missing"
    (lists / "ImageNet_LT_train.txt").write_text("train/n01440764/n01440764_0.JPEG zero\n")
    with pytest.raises(LbalError) as error:
        make("imagenet_lt", root=root, lists=str(lists)).split("train")
    assert str(error.value) == f"{lists / 'ImageNet_LT_train.txt'}: entry 1: label 'zero' is not an integer"


def test_flowers102_mat_files(tmp_path):
    datagen.flowers102(tmp_path / "flowers-102")
    data = make("flowers102", root=str(tmp_path))  # the folder holding flowers-102/, as torchvision's
    sizes = {s: len(data.split(s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 6, "val": 3, "test": 3}
    assert data.split("train").labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.split("test").images.paths[0].endswith("jpg/image_00004.jpg")
    assert data.num_classes == 3
    check_images(data.split("val"), 40)
    (tmp_path / "flowers-102" / "setid.mat").unlink()
    with pytest.raises(LbalError) as error:
        make("flowers102", root=str(tmp_path / "flowers-102"))
    assert str(error.value).startswith(
        f"dataset 'flowers102': expected file {tmp_path / 'flowers-102' / 'setid.mat'} is missing; Flowers-102 from")


def test_dtd_partition_lists(tmp_path):
    base = datagen.dtd(tmp_path)
    data = make("dtd", root=str(tmp_path))
    assert data.class_names == ["banded", "blotchy", "braided"]
    assert [len(data.split(s)) for s in ("train", "val", "test")] == [3, 3, 3]
    assert data.split("train").labels.tolist() == [0, 1, 2]
    check_images(data.split("test"), 40)
    with pytest.raises(LbalError) as error:
        make("dtd", root=str(tmp_path), partition=2)
    assert str(error.value).startswith(f"dataset 'dtd': expected file {base / 'labels' / 'train2.txt'} is missing; ")
    with pytest.raises(LbalError) as error:
        make("dtd", root=str(tmp_path), partition=11)
    assert str(error.value) == "dataset 'dtd': option 'partition' must be int (>= 1, <= 10), got 11"


def test_aircraft_validation_is_a_seeded_fifth_of_each_class(tmp_path):
    datagen.aircraft(tmp_path, per_class=11)
    data = make("aircraft", root=str(tmp_path))
    train, val, test = (data.split(s) for s in ("train", "val", "test"))
    assert data.class_names == ["707-320", "Cessna 172", "A300B4"]  # variants.txt order, spaces kept
    assert np.bincount(val.labels).tolist() == [2, 2, 2]  # floor(20% of 11)
    assert np.bincount(train.labels).tolist() == [9, 9, 9] and np.bincount(test.labels).tolist() == [2, 2, 2]
    assert not set(train.images.paths) & set(val.images.paths)
    again = make("aircraft", root=str(tmp_path)).split("val").images.paths
    other = make("aircraft", root=str(tmp_path), split_seed=1).split("val").images.paths
    assert again == val.images.paths and other != val.images.paths
    assert make("aircraft", root=str(tmp_path), split_seed=1).fingerprint() != data.fingerprint()


def test_aircraft_unknown_variant(tmp_path):
    root = datagen.aircraft(tmp_path)
    listing = root / "data" / "images_variant_test.txt"
    listing.write_text("0000000 Boeing 999\n")
    with pytest.raises(LbalError) as error:
        make("aircraft", root=str(tmp_path)).split("test")
    assert str(error.value) == f"{listing}: variant 'Boeing 999' is not in variants.txt"


def test_unknown_split_is_named(tmp_path):
    datagen.imagenet(tmp_path)
    with pytest.raises(LbalError) as error:
        make("imagenet", root=str(tmp_path)).split("val")
    assert str(error.value) == "dataset 'imagenet' has no split 'val' (it has train, test)"


# --- precomputed features ---------------------------------------------------------


def feature_files(tmp_path: Path, kind: str, n: int = 12, d: int = 8) -> dict[str, str]:
    rng = np.random.default_rng(0)
    files = {}
    for split, size in (("train", n), ("test", n // 2)):
        features = rng.standard_normal((size, d)).astype(np.float32)
        labels = np.arange(size) % 3
        path = tmp_path / f"{split}.{kind}"
        if kind == "npz":
            np.savez(path, features=features, labels=labels)
        elif kind == "npy":
            np.save(path, features)
            np.save(tmp_path / f"{split}.labels.npy", labels)
        else:
            from safetensors.numpy import save_file

            save_file({"features": features, "labels": labels}, str(path))
        files[split] = str(path)
    return files


@pytest.mark.parametrize("kind", ["npz", "npy", "safetensors"])
def test_features_files(tmp_path, kind):
    files = feature_files(tmp_path, kind)
    data = make("features", **files)
    train = data.split("train")
    assert train.features.shape == (12, 8) and train.images is None
    assert train.labels.tolist() == [0, 1, 2] * 4 and data.num_classes == 3
    assert data.class_names == ["0", "1", "2"]
    assert make("features", **files, class_names=["a", "b", "c"]).class_names == ["a", "b", "c"]
    assert data.fingerprint() == make("features", **files).fingerprint()


def test_features_errors_name_the_file(tmp_path):
    files = feature_files(tmp_path, "npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, features=np.ones((5, 8), np.float32), labels=np.zeros(4, np.int64))
    with pytest.raises(LbalError) as error:
        make("features", train=str(bad), test=files["test"]).split("train")
    assert str(error.value) == f"{bad}: 5 feature rows but 4 labels"
    features = np.ones((5, 8), np.float32)
    features[3, 2] = np.nan
    np.savez(bad, features=features, labels=np.zeros(5, np.int64))
    with pytest.raises(LbalError) as error:
        make("features", train=str(bad), test=files["test"]).split("train")
    assert str(error.value) == f"{bad}: feature row 3 contains NaN or infinite values"
    np.savez(bad, embeddings=features)
    with pytest.raises(LbalError) as error:
        make("features", train=str(bad), test=files["test"]).split("test")
    assert str(error.value) == f"{bad}: no array named 'features' (found embeddings)"
    np.savez(bad, features=np.ones((5, 4), np.float32), labels=np.zeros(5, np.int64))
    with pytest.raises(LbalError) as error:
        make("features", train=files["train"], test=str(bad)).split("test")
    assert str(error.value) == f"{bad}: 4-dimensional features, but {files['train']} has 8"
    with pytest.raises(LbalError) as error:
        make("features", train=str(tmp_path / "train.npy"), test=files["test"])
    assert str(error.value) == f"dataset 'features': train file {tmp_path / 'train.npy'} is missing"
    np.save(tmp_path / "train.npy", np.ones((5, 4), np.float32))
    with pytest.raises(LbalError) as error:
        make("features", train=str(tmp_path / "train.npy"), test=files["test"])
    assert str(error.value) == f"dataset 'features': train labels file {tmp_path / 'train.labels.npy'} is missing"


@pytest.mark.parametrize("kind", ["npz", "npy", "safetensors"])
def test_features_without_required_labels_reads_the_labels_there_are(tmp_path, kind):
    """``require_labels=False`` (select's way): a file's labels are read and checked as
    always; a file without labels gets -1 for every point."""
    files = feature_files(tmp_path, kind)
    labeled = make("features", **files, require_labels=False)
    assert labeled.split("train").labels.tolist() == [0, 1, 2] * 4 and labeled.num_classes == 3
    assert labeled.fingerprint() == make("features", **files).fingerprint()
    features = make("features", **files).split("train").features
    bare = tmp_path / f"bare.{kind}"
    if kind == "npy":
        np.save(bare, features)
    elif kind == "npz":
        np.savez(bare, features=features)
    else:
        from safetensors.numpy import save_file

        save_file({"features": features}, str(bare))
    data = make("features", train=str(bare), test=files["test"], require_labels=False)
    assert data.split("train").labels.tolist() == [-1] * 12 and data.split("test").labels.tolist() == [0, 1, 2] * 2
    np.savez(bare.with_suffix(".npz"), features=features, labels=np.arange(12) - 1)
    with pytest.raises(LbalError) as error:
        make("features", train=str(bare.with_suffix(".npz")), test=files["test"], require_labels=False).split("train")
    assert str(error.value) == f"{bare.with_suffix('.npz')}: labels must be >= 0, found -1"


def test_features_npy_with_nan_is_named_by_row(tmp_path):
    files = feature_files(tmp_path, "npy", n=70000, d=2)  # more rows than one checked block
    features = np.load(files["train"])
    features[66000, 1] = np.inf
    np.save(files["train"], features)
    with pytest.raises(LbalError) as error:
        make("features", **files).split("train")
    assert str(error.value) == f"{files['train']}: feature row 66000 contains NaN or infinite values"


# --- what each dataset declares its splits hold (lbal_bench.contracts.INPUT_KINDS) --------


def test_every_reference_dataset_declares_what_its_splits_hold():
    reference = [p for p in get_registry().all() if p.kind == "dataset" and p.distribution == "lbal-bench"]
    assert {p.name: p.factory.provides for p in reference} == {
        "aircraft": "pil_images", "cifar10": "pil_images", "cifar100": "pil_images", "digits": "image_arrays",
        "dtd": "pil_images", "features": "features", "flowers102": "pil_images", "imagenet": "pil_images",
        "imagenet_lt": "pil_images", "synthetic": "features",
    }


def test_the_declared_kinds_are_what_the_splits_hold(tmp_path):
    digits = make("digits").split("train")
    assert isinstance(digits.images, np.ndarray) and digits.images.shape[1:] == (8, 8) and digits.features is None
    synthetic = make("synthetic", train_size=20, test_size=5, dim=4).split("train")
    assert synthetic.images is None and synthetic.features.shape == (20, 4)
    datagen.cifar(tmp_path, per_batch=2)
    check_images(make("cifar10", root=str(tmp_path)).split("train"), 32)  # RGB PIL images
