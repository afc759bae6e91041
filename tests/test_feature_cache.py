"""The feature cache with real datasets and backbones: a CIFAR-format folder embedded by a
random ResNet-18 on CPU through `lbal-bench run` and `lbal-bench features`, resumable
shards (killed for real), float16 storage, and `lbal-bench cache ls|rm`."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import datagen
import lbal_process
from lbal_bench.cells import build_grid, expand
from lbal_bench.plugin_handle import Plugin, build_plugin
from lbal_bench.features import FeatureCache
from lbal_bench.plugins import get_registry
from lbal_bench.suite import load_suite
from lbal_bench.kit.torchvision_backbone import TorchvisionBackbone

BACKBONE = {"name": "resnet18", "options": {"weights": "random", "transform": "cifar10", "workers": 0}}


def cifar_suite(root, **backbone_options) -> dict:
    backbone = {**BACKBONE, "options": {**BACKBONE["options"], **backbone_options}}
    return {
        "name": "mini_cifar",
        "datasets": [{"name": "cifar10", "options": {"root": str(root)}}],
        "backbones": [backbone],
        "samplers": ["random", "kmeans"],
        "budgets": [4, 8],
        "seeds": [0],
        "evaluators": ["knn", "coverage"],
    }


def plugin(kind: str, name: str, **options) -> Plugin:
    return build_plugin(get_registry(), kind, name, options)


def test_run_embeds_a_cifar_folder_once(tmp_path, cli, write_suite, monkeypatch):
    datagen.cifar(tmp_path / "cifar", per_batch=4)
    suite = write_suite(cifar_suite(tmp_path / "cifar"))
    first = cli("run", str(suite))
    assert first.exit_code == 0, first.output
    assert "computed 8 cells, 0 already done" in first.stdout
    entries = FeatureCache().entries()
    assert sorted((e["split"], tuple(e["shape"])) for e in entries) == [("test", (4, 512)), ("train", (20, 512))]
    features = np.load(next(e["path"] for e in entries if e["split"] == "train"))
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1, rtol=1e-5)

    def never(*args, **kwargs):
        raise AssertionError("features were extracted again")

    monkeypatch.setattr(TorchvisionBackbone, "embed", never)
    (tmp_path / "results").rename(tmp_path / "old_results")  # every cell again, the features from the cache
    second = cli("run", str(suite))
    assert second.exit_code == 0, second.output
    assert "computed 8 cells, 0 already done" in second.stdout
    workers = write_suite(cifar_suite(tmp_path / "cifar", workers=2, batch_size=3), "workers.yaml")
    third = cli("run", str(workers))  # runtime options: same cells, same features
    assert third.exit_code == 0, third.output
    assert "computed 0 cells, 8 already done" in third.stdout


def test_moved_data_and_checkpoint_keep_their_features_and_cells(tmp_path, cli, write_suite, monkeypatch):
    datagen.cifar(tmp_path / "cifar", per_batch=2)
    datagen.save_checkpoint(datagen.resnet18(), tmp_path / "compress.pth", "compress")
    first = cli("run", str(write_suite(cifar_suite(tmp_path / "cifar", weights=str(tmp_path / "compress.pth")))))
    assert "computed 8 cells, 0 already done" in first.stdout, first.output

    def never(*args, **kwargs):
        raise AssertionError("features were extracted again")

    monkeypatch.setattr(TorchvisionBackbone, "embed", never)
    (tmp_path / "cifar").rename(tmp_path / "moved")  # the same files elsewhere: the same cells
    (tmp_path / "compress.pth").rename(tmp_path / "moved" / "weights.pth")
    moved = write_suite(cifar_suite(tmp_path / "moved", weights=str(tmp_path / "moved" / "weights.pth")), "moved.yaml")
    second = cli("run", str(moved))
    assert "computed 0 cells, 8 already done" in second.stdout, second.output
    batch = tmp_path / "moved" / "cifar-10-batches-py" / "test_batch"
    data = pickle.loads(batch.read_bytes())
    data["data"][0, 0] ^= 1  # one pixel changed: other data, so its features are extracted
    batch.write_bytes(pickle.dumps(data))
    assert "features were extracted again" in cli("run", str(moved)).stderr


def test_features_command_fills_the_cache_run_uses(tmp_path, cli):
    datagen.cifar(tmp_path / "cifar", per_batch=2)
    result = cli("features", "cifar10", "resnet18", "-d", f"root={tmp_path / 'cifar'}", "-b", "weights=random",
                 "-b", "transform=cifar10", "-b", "workers=0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cifar10/train: 10 x 512 features in ") and "images/s)" in lines[0]
    assert lines[1].startswith("cifar10/test: 2 x 512 features in ")
    grid = build_grid(load_suite_dict(tmp_path, cifar_suite(tmp_path / "cifar")), get_registry())
    cache = FeatureCache()
    assert all(cache.path(grid.datasets[0], grid.backbones[0], s).exists() for s in ("train", "test"))
    again = cli("features", "cifar10", "resnet18", "-d", f"root={tmp_path / 'cifar'}", "-b", "weights=random",
                "-b", "transform=cifar10", "--split", "test")
    assert again.exit_code == 0 and again.stdout.startswith("cifar10/test: already cached, ")


def load_suite_dict(tmp_path, suite: dict):
    import yaml

    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(suite))
    return load_suite(path)


def test_features_command_bad_option(cli):
    result = cli("features", "cifar10", "resnet18", "-d", "root")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --dataset-option 'root': expected KEY=VALUE"
    result = cli("features", "cifar10", "resnet18", "-d", "root=/nowhere")
    assert result.stderr.strip() == (
        "error: dataset 'cifar10': root /nowhere is missing; the CIFAR python version from "
        "https://www.cs.toronto.edu/~kriz/cifar.html, or download: true"
    )


@pytest.mark.slow
def test_killed_extraction_resumes_from_its_finished_shards(tmp_path):
    datagen.cifar(tmp_path / "cifar", per_batch=1)  # 5 train images: shards of 2, 2, 1
    args = ["features", "cifar10", "resnet18", "-d", f"root={tmp_path / 'cifar'}", "-b", "weights=random",
            "-b", "transform=cifar10", "-b", "workers=0", "--split", "train", "--shard-size", "2"]
    paused = lbal_process.kill_at("write:*.parts/0000000004-0000000005.npy", *args, log=tmp_path / "log")
    assert paused.startswith("lbal-bench: paused at write ")
    parts = next((tmp_path / "cache" / "features").glob("*.parts"))
    done = sorted(p.name for p in parts.glob("*.npy"))
    assert done == ["0000000000-0000000002.npy", "0000000002-0000000004.npy"]
    listing = lbal_process.run("cache", "ls", env={"COLUMNS": "200"})
    assert "partial: 2 shards" in listing.stdout
    marker = np.full((2, 512), 512 ** -0.5, dtype=np.float32)  # a finished shard is reused, not recomputed
    np.save(parts / done[1], marker)
    resumed = lbal_process.run(*args)
    assert resumed.returncode == 0, resumed.stderr
    features = np.load(parts.with_suffix(".npy"))
    assert features.shape == (5, 512) and not parts.exists()
    np.testing.assert_array_equal(features[2:4], marker)
    fresh = lbal_process.run(*args, "--cache-dir", str(tmp_path / "fresh"))
    assert fresh.returncode == 0, fresh.stderr
    expected = np.load(next((tmp_path / "fresh" / "features").glob("*.npy")))
    np.testing.assert_allclose(features[[0, 1, 4]], expected[[0, 1, 4]], rtol=1e-5, atol=1e-6)


def test_float16_storage_is_its_own_entry_read_as_float32(tmp_path):
    datagen.cifar(tmp_path / "cifar", per_batch=2)
    dataset = plugin("dataset", "cifar10", root=str(tmp_path / "cifar"))
    full = plugin("backbone", "resnet18", **BACKBONE["options"])
    half = plugin("backbone", "resnet18", **BACKBONE["options"], features_dtype="float16")
    cache = FeatureCache(tmp_path / "c", shard_size=3)
    assert cache.key(dataset, full, "train") != cache.key(dataset, half, "train")
    a, b = cache.get(dataset, full, "train"), cache.get(dataset, half, "train")
    assert a.dtype == b.dtype == np.float32 and not b.flags.writeable
    assert np.load(cache.path(dataset, half, "train"), mmap_mode="r").dtype == np.float16
    np.testing.assert_allclose(a, b, atol=2e-3)
    assert cache.path(dataset, half, "train").stat().st_size < cache.path(dataset, full, "train").stat().st_size
    info = json.loads(cache.path(dataset, half, "train").with_suffix(".json").read_text())
    assert info["dtype"] == "float16" and info["shape"] == [10, 512] and info["split"] == "train"


def test_precomputed_features_go_through_the_cache_normalised(tmp_path, cli, write_suite):
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 10)):
        np.savez(tmp_path / f"{split}.npz", features=rng.standard_normal((n, 6)) * 5, labels=np.arange(n) % 4)
    suite = write_suite({
        "name": "mine", "datasets": [{"name": "features", "options": {
            "train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz")}}],
        "backbones": [{"name": "pixels", "label": "my_model"}], "samplers": ["kmeans"], "budgets": [4],
        "seeds": [0], "evaluators": ["coverage"],
    })
    result = cli("run", str(suite))
    assert result.exit_code == 0, result.output
    (entry,) = [e for e in FeatureCache().entries() if e["split"] == "train"]
    assert entry["names"] == {"dataset": "features", "backbone": "my_model"}
    np.testing.assert_allclose(np.linalg.norm(np.load(entry["path"]), axis=1), 1, rtol=1e-5)


def test_cache_ls_and_rm(tmp_path, cli):
    datagen.cifar(tmp_path / "cifar", per_batch=2)
    cache = FeatureCache()
    dataset = plugin("dataset", "cifar10", root=str(tmp_path / "cifar"))
    backbone = plugin("backbone", "resnet18", **BACKBONE["options"])
    for split in ("train", "test"):
        cache.get(dataset, backbone, split)
    listing = cli("cache", "ls")
    assert listing.exit_code == 0
    assert "2 entries" in listing.stdout and "cifar10" in listing.stdout and "resnet18" in listing.stdout
    key = cache.key(dataset, backbone, "test")
    assert cli("cache", "rm", key[:10]).stdout.startswith("deleted 1 entry from ")
    assert not cache.path(dataset, backbone, "test").exists() and cache.path(dataset, backbone, "train").exists()
    missing = cli("cache", "rm", "zzz")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == f"error: cache rm: key 'zzz' matches no entry in {cache.root}"
    assert cli("cache", "rm").stderr.strip() == (
        "error: cache rm: name the keys to delete (see `lbal-bench cache ls`) or pass --all")
    assert cli("cache", "rm", "--all").stdout.startswith("deleted 1 entry")
    assert cache.entries() == []


def test_missing_checkpoint_in_a_suite_is_one_line(tmp_path, cli, write_suite):
    datagen.cifar(tmp_path / "cifar", per_batch=2)
    suite = write_suite(cifar_suite(tmp_path / "cifar", weights=str(tmp_path / "compress.pth")))
    result = cli("validate", str(suite))
    assert result.exit_code == 2
    line = next(i for i, text in enumerate(suite.read_text().splitlines(), 1) if "resnet18" in text)
    assert result.stderr.strip() == (
        f"error: {suite}:{line}: backbone 'resnet18': weights file {tmp_path / 'compress.pth'} is missing")


def test_cells_leave_runtime_options_out(tmp_path):
    datagen.cifar(tmp_path / "cifar", per_batch=2)
    one = expand(build_grid(load_suite_dict(tmp_path, cifar_suite(tmp_path / "cifar")), get_registry()))
    two = expand(build_grid(load_suite_dict(tmp_path, cifar_suite(tmp_path / "cifar", workers=3, batch_size=2)),
                            get_registry()))
    other = expand(build_grid(load_suite_dict(tmp_path, cifar_suite(tmp_path / "cifar", transform="upsample224")),
                              get_registry()))
    assert [c.fingerprint for c in one] == [c.fingerprint for c in two]
    assert not {c.fingerprint for c in one} & {c.fingerprint for c in other}
    assert "workers" not in one[0].config()["backbone"]["options"]
