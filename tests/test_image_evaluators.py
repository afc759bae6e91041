"""The image evaluators (``finetune``, ``fixmatch``) and the ``tiny_cnn`` backbone they
train on the CPU: real runs on scikit-learn's digits, a few seconds each.

The evaluators are called through the registry with an ``ImageTask`` built as the
runner builds it, and end to end through ``lbal-bench run``. The refusals of a
features-only dataset and of a backbone without a network are in the bad-input
catalogue (tests/bad_inputs/evaluator_needs_*)."""

from __future__ import annotations

import gc
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tiny_suite
from lbal_bench import ImageTask, LbalError
from lbal_bench.plugins import get_registry
from lbal_plugins.evaluators.finetune import Finetune, Recipe
from lbal_plugins.evaluators.fixmatch import unlabeled_loss

FINETUNE = {"epochs": 12, "batch_size": 16, "milestones": [8], "augment": "translate", "flip": False}
FIXMATCH = {"steps": 25, "batch_size": 8, "mu": 3, "flip": False, "ema": 0.9}
TINY_CNN = {"name": "tiny_cnn", "options": {"max_value": 16}}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one torch thread is faster, and immune to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(kind: str, name: str, **options):
    return get_registry().create(kind, name, options)


def digits_task(budget: int = 50, seed: int = 0, backbone=None, pool_images=None) -> ImageTask:
    """``budget`` random digits labeled, as the runner hands them to an image evaluator."""
    digits = make("dataset", "digits")
    train, test = digits.split("train"), digits.split("test")
    labeled = np.sort(np.random.default_rng(seed).choice(len(train), budget, replace=False))
    return ImageTask(
        pool_images=train.images if pool_images is None else pool_images, labeled=labeled,
        labels=train.labels[labeled], test_images=test.images, test_labels=test.labels, num_classes=10,
        backbone=backbone or make("backbone", "tiny_cnn", max_value=16),
    )


def weights(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# -- tiny_cnn ---------------------------------------------------------------------------


def test_tiny_cnn_network_is_a_fresh_copy_computing_the_features():
    backbone = make("backbone", "tiny_cnn", max_value=16)
    images = make("dataset", "digits").split("test").images[:20]
    features = backbone.embed(images)
    assert features.shape == (20, 128) and features.dtype == np.float32
    network = backbone.network().eval()
    batch = torch.stack([backbone.preprocess(image) for image in images])
    assert batch.shape == (20, 3, 8, 8) and 0 <= batch.min() and batch.max() <= 1
    with torch.no_grad():
        np.testing.assert_allclose(network(batch).numpy(), features, rtol=1e-5, atol=1e-6)
        next(network.parameters()).add_(1.0)  # training a copy leaves the backbone alone
    np.testing.assert_array_equal(backbone.embed(images), features)
    assert backbone.fingerprint()["weights"]["kind"] == "random"


def test_tiny_cnn_reads_its_checkpoint_and_refuses_another(tmp_path):
    trained = make("backbone", "tiny_cnn", seed=3, max_value=16)
    torch.save(trained.network().state_dict(), tmp_path / "tiny.pt")
    loaded = make("backbone", "tiny_cnn", weights=str(tmp_path / "tiny.pt"), max_value=16)
    images = make("dataset", "digits").split("test").images[:5]
    np.testing.assert_array_equal(loaded.embed(images), trained.embed(images))
    assert loaded.fingerprint()["weights"]["kind"] == "file"
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(LbalError) as refused:
        make("backbone", "tiny_cnn", weights=str(tmp_path / "other.pt")).embed(images)
    assert str(refused.value) == (f"{tmp_path / 'other.pt'}: checkpoint does not match tiny_cnn (18 missing, "
                                  "1 unexpected, 0 misshapen keys; first: 0.weight)")


def test_tiny_cnn_preprocesses_rgb_and_resizes():
    preprocess = make("backbone", "tiny_cnn", size=12).preprocess
    rgb = np.full((20, 16, 3), 255, dtype=np.uint8)
    x = preprocess(rgb)
    assert x.shape == (3, 12, 12) and float(x.min()) == 1.0


# -- finetune ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, options, above", [("finetune", FINETUNE, 40), ("fixmatch", FIXMATCH, 25)])
def test_image_evaluator_learns_digits_and_is_deterministic(name, options, above):
    task = digits_task()
    evaluator = make("evaluator", name, **options)
    first = evaluator.evaluate_images(task, np.random.default_rng(0))
    assert list(first) == ["top1"]
    assert above < first["top1"] <= 100  # chance is 10%
    assert evaluator.evaluate_images(task, np.random.default_rng(0)) == first
    assert evaluator.evaluate_images(task, np.random.default_rng(1)) != first


def test_finetune_trains_the_backbone_copy_not_the_backbone():
    task = digits_task()
    before = weights(task.backbone.model)
    model = make("evaluator", "finetune", **FINETUNE).train(task, seed=0)
    trained, initial = weights(model.network), weights(task.backbone.network())
    changed = [k for k in initial if k.endswith("weight") and not torch.equal(trained[k], initial[k])]
    assert len(changed) == 6  # the weights of all three convolutions and BatchNorms moved
    assert all(torch.equal(v, before[k]) for k, v in weights(task.backbone.model).items())


def test_finetune_chooses_sgd_for_random_weights_and_adam_for_trained_ones(tmp_path):
    random = make("backbone", "tiny_cnn")
    torch.save(random.network().state_dict(), tmp_path / "ssl.pt")
    trained = make("backbone", "tiny_cnn", weights=str(tmp_path / "ssl.pt"))
    evaluator = make("evaluator", "finetune")
    assert evaluator.recipe(random) == Recipe(optimizer="sgd", lr=0.1, head_lr=0.1, standardise=False)
    assert evaluator.recipe(trained) == Recipe(optimizer="adam", lr=1e-4, head_lr=1e-2, standardise=True)
    forced = make("evaluator", "finetune", optimizer="adam", lr=1e-3)
    assert forced.recipe(random) == Recipe(optimizer="adam", lr=1e-3, head_lr=1e-2, standardise=False)


def test_finetune_decays_the_learning_rates_at_the_milestones():
    task = digits_task(budget=30)

    def trained(milestones, lr):
        options = {**FINETUNE, "epochs": 3, "milestones": milestones, "lr": lr, "head_lr": lr}
        return weights(make("evaluator", "finetune", **options).train(task, seed=0))

    decayed = trained([0], 0.1)  # ×0.1 from the first epoch on
    assert all(torch.allclose(v, trained([], 0.01)[k], atol=1e-6) for k, v in decayed.items())
    assert not all(torch.allclose(v, trained([], 0.1)[k], atol=1e-6) for k, v in decayed.items())
    assert all(torch.equal(v, trained([3], 0.1)[k]) for k, v in trained([], 0.1).items())  # after the last epoch


def test_finetune_standardises_features_with_the_labeled_set_statistics(tmp_path):
    torch.save(make("backbone", "tiny_cnn").network().state_dict(), tmp_path / "ssl.pt")
    task = digits_task(backbone=make("backbone", "tiny_cnn", weights=str(tmp_path / "ssl.pt"), max_value=16))
    model = make("evaluator", "finetune", **{**FINETUNE, "epochs": 1}).train(task, seed=0)
    initial = task.backbone.embed(task.pool_images[task.labeled])
    std = initial.std(axis=0)
    assert (std == 0).any()  # a dimension the ReLU silences: divided by 1
    np.testing.assert_allclose(model.standardise.mean.numpy(), initial.mean(axis=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.standardise.std.numpy(), np.where(std == 0, 1, std), rtol=1e-4, atol=1e-6)


def test_finetune_mean_per_class_comes_first():
    metrics = make("evaluator", "finetune", **{**FINETUNE, "epochs": 2}, mean_per_class=True).evaluate_images(
        digits_task(), np.random.default_rng(0))
    assert list(metrics) == ["mean_per_class", "top1"]
    assert metrics["mean_per_class"] != metrics["top1"]


def test_dataloader_workers_do_not_change_the_numbers():
    task = digits_task(budget=40)
    options = {**FINETUNE, "epochs": 3, "augment": "crop", "flip": True}
    alone = make("evaluator", "finetune", **options).evaluate_images(task, np.random.default_rng(0))
    assert make("evaluator", "finetune", **options, workers=2).evaluate_images(task, np.random.default_rng(0)) == alone


# -- fixmatch ---------------------------------------------------------------------------


def test_unlabeled_loss_keeps_only_pseudo_labels_above_the_threshold():
    weak = torch.tensor([[5.0, 0.0, 0.0],    # p = 0.987 for class 0
                         [0.0, 2.0, 0.0],    # p = 0.787 for class 1
                         [0.0, 0.0, 3.5]])   # p = 0.943 for class 2
    strong = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, 1.0]])
    nll = -torch.log_softmax(strong, dim=1)
    loss, mask = unlabeled_loss(weak, strong, threshold=0.95)
    assert mask.tolist() == [1.0, 0.0, 0.0]
    assert math.isclose(loss.item(), nll[0, 0].item() / 3, rel_tol=1e-6)  # averaged over all three
    loss, mask = unlabeled_loss(weak, strong, threshold=0.7)
    assert mask.tolist() == [1.0, 1.0, 1.0]
    assert math.isclose(loss.item(), (nll[0, 0] + nll[1, 1] + nll[2, 2]).item() / 3, rel_tol=1e-6)


class Recorded:
    """The pool's images, remembering which were read."""

    def __init__(self, images: np.ndarray):
        self.images = images
        self.read: set[int] = set()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        self.read.add(int(index))
        return self.images[index]


def test_fixmatch_trains_on_the_unlabeled_images():
    pool = Recorded(make("dataset", "digits").split("train").images)
    task = digits_task(budget=20, pool_images=pool)
    make("evaluator", "fixmatch", **FIXMATCH).train(task, seed=0)
    unlabeled = pool.read - set(task.labeled.tolist())
    assert len(unlabeled) > 400  # 25 steps × 24 draws from the 1,327 unlabeled images
    assert pool.read >= set(task.labeled.tolist())


def test_fixmatch_unlabeled_loss_changes_the_model():
    task = digits_task(budget=20)
    runs = {lam: make("evaluator", "fixmatch", **{**FIXMATCH, "steps": 5, "threshold": 0.0, "lambda_u": lam})
            .train(task, seed=0) for lam in (0.0, 1.0)}
    assert not torch.equal(runs[0.0].head.weight, runs[1.0].head.weight)


def test_fixmatch_from_scratch_reinitialises_the_network():
    task = digits_task(budget=20)
    options = {**FIXMATCH, "steps": 1, "lr": 1e-12, "ema": 0.0}  # one step that changes next to nothing
    kept = weights(make("evaluator", "fixmatch", **options).train(task, seed=1).network)
    scratch = weights(make("evaluator", "fixmatch", **options, init="scratch").train(task, seed=1).network)
    initial = weights(task.backbone.network())
    assert torch.allclose(kept["0.weight"], initial["0.weight"], atol=1e-6)
    assert not torch.allclose(scratch["0.weight"], initial["0.weight"], atol=1e-3)


# -- through the runner -----------------------------------------------------------------


def image_suite(**overrides) -> dict:
    suite = tiny_suite(backbones=[TINY_CNN], samplers=["random", "kmeans"], budgets=[20], seeds=[0], evaluators=[
        {"name": "finetune", "options": {**FINETUNE, "epochs": 4}},
        {"name": "fixmatch", "options": {**FIXMATCH, "steps": 8}},
    ])
    return {**suite, **overrides}


def test_run_writes_records_and_a_leaderboard_row_for_each_image_evaluator(cli, write_suite):
    result = cli("run", str(write_suite(image_suite())))
    assert result.exit_code == 0, result.output
    records = [json.loads(p.read_text()) for p in Path("results/tiny/records").glob("*.json")]
    assert sorted((r["display"]["evaluator"], r["display"]["sampler"]) for r in records) == [
        ("finetune", "kmeans"), ("finetune", "random"), ("fixmatch", "kmeans"), ("fixmatch", "random")]
    assert all(0 <= r["metrics"]["top1"] <= 100 and r["selection"]["count"] == 20 for r in records)
    board = pd.read_csv("leaderboard/tiny/leaderboard.csv")
    rows = board[(board["budget"] == 20)].set_index(["evaluator", "method"])["mean"]
    assert sorted(rows.index) == [("finetune", "kmeans"), ("finetune", "random"),
                                  ("fixmatch", "kmeans"), ("fixmatch", "random")]


def reachable(root, depth: int = 6) -> list:
    """Objects reachable from ``root`` through references, a few steps deep (no modules or classes)."""
    seen, frontier, found = {id(root)}, [root], []
    for _ in range(depth):
        following = []
        for obj in frontier:
            for ref in gc.get_referents(obj):
                if id(ref) in seen or isinstance(ref, (type, type(gc))):
                    continue
                seen.add(id(ref))
                found.append(ref)
                following.append(ref)
        frontier = following
    return found


def test_image_evaluators_get_the_labels_of_the_selection_only(cli, write_suite, monkeypatch):
    tasks = []
    monkeypatch.setattr(Finetune, "evaluate_images", lambda self, task, rng: tasks.append(task) or {"top1": 0.0})
    suite = image_suite(evaluators=["finetune"], samplers=["kmeans"])
    assert cli("run", str(write_suite(suite))).exit_code == 0
    pool = make("dataset", "digits").split("train").labels
    [task] = tasks
    assert len(task.labeled) == 20 and np.array_equal(task.labels, pool[task.labeled])
    arrays = [a for a in reachable(task) if isinstance(a, np.ndarray) and a.dtype.kind in "iu" and a.ndim == 1]
    assert any(np.array_equal(a, task.test_labels) for a in arrays)  # the search does find label arrays
    assert not [a for a in arrays if len(a) == len(pool)]  # but none the size of the pool
