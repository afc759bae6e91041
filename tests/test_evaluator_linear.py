"""The ``linear`` evaluator and ``fit_linear``: torch's initialisation and batch order in
numpy, the numpy training against torch's, and the ``normalise`` option."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from lbal_bench import LbalError
from lbal_bench.plugins import get_registry
from lbal_bench.kit.training import TorchRandom, fit_linear, fit_linear_batched


def blobs(n: int = 40, dim: int = 6, classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = (rng.normal(size=(classes, dim))[y] * 2 + rng.normal(size=(n, dim))).astype(np.float32)
    return x, y


@pytest.mark.parametrize("seed", [0, 7, 2**31 - 2])
def test_torch_random_is_torch_bit_for_bit(seed):
    ours = TorchRandom(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = [torch.nn.Linear(i, o) for i, o in ((513, 1000), (65, 10), (1, 3))]
    for layer in layers:
        weight, bias = ours.linear(layer.in_features, layer.out_features)
        assert np.array_equal(weight, layer.weight.detach().numpy()) and np.array_equal(bias, layer.bias.detach().numpy())
    generator, ours = torch.Generator().manual_seed(seed), TorchRandom(seed)
    for n in (0, 1, 2, 10, 1347, 20000):
        assert np.array_equal(ours.randperm(n), torch.randperm(n, generator=generator).numpy())


@pytest.mark.parametrize("n, classes, batch", [(30, 3, 4), (200, 5, 128)])
def test_numpy_training_equals_torch_s_to_float_rounding(n, classes, batch):
    """The same steps as torch tensors (the implementation before numpy's; initialisation
    and order bit for bit) end with the same weights up to float32 rounding: the matrix
    products sum in another order, so the last bits differ."""
    x, y = blobs(n, 8, classes)
    ours = fit_linear(x, y, classes, seed=3, batch_size=batch)
    theirs = fit_linear(x, y, classes, seed=3, batch_size=batch, device="torch-cpu")
    assert np.abs(ours.weight - theirs.weight).max() < 1e-5 and np.abs(ours.bias - theirs.bias).max() < 1e-5
    assert np.array_equal(ours.logits(x).argmax(1), theirs.logits(x).argmax(1))
    assert np.array_equal(ours.weight, fit_linear(x, y, classes, seed=3, batch_size=batch).weight)


def test_the_layer_is_also_a_torch_linear():
    x, y = blobs()
    head = fit_linear(x, y, 3, seed=0, epochs=2)
    with torch.no_grad():
        torch_logits = head.model(torch.as_tensor(head.transform(x))).numpy()
    assert np.allclose(torch_logits, head.logits(x), atol=1e-5)


def test_standardise_fits_the_labeled_set_s_mean_and_std():
    x, y = blobs()
    x[:, 2] = 5.0  # a constant dimension: std 0 counts as 1
    head = fit_linear(x, y, 3, seed=0, epochs=1, normalise="standardise")
    std = x.std(axis=0)
    std[2] = 1.0
    assert np.allclose(head.mean, x.mean(axis=0)) and np.allclose(head.std, std)
    assert np.allclose(head.transform(x).mean(axis=0), 0, atol=1e-5)
    # invariant to a per-dimension affine change of the features (up to rounding)
    moved = fit_linear(x * np.float32(3) + np.float32(1), y, 3, seed=0, epochs=5, normalise="standardise")
    reference = fit_linear(x, y, 3, seed=0, epochs=5, normalise="standardise")
    assert np.abs(moved.weight - reference.weight).max() < 1e-4


def test_l2_scales_rows_to_unit_norm_and_nothing_else():
    x, y = blobs()
    head = fit_linear(x, y, 3, seed=0, epochs=5, normalise="l2")
    assert np.array_equal(head.mean, np.zeros(6)) and np.array_equal(head.std, np.ones(6))
    assert np.allclose(np.linalg.norm(head.transform(x), axis=1), 1)
    # a per-row scale changes nothing; a per-dimension shift does
    scaled = fit_linear(x * np.linspace(0.5, 4, len(x), dtype=np.float32)[:, None], y, 3, seed=0, epochs=5, normalise="l2")
    assert np.abs(scaled.weight - head.weight).max() < 1e-5
    shifted = fit_linear(x + np.float32(1), y, 3, seed=0, epochs=5, normalise="l2")
    assert np.abs(shifted.weight - head.weight).max() > 1e-3


def test_none_trains_on_the_features_as_they_are():
    x, y = blobs()
    head = fit_linear(x, y, 3, seed=0, epochs=5, normalise="none")
    assert np.array_equal(head.transform(x), x)
    assert np.array_equal(head.weight, fit_linear(x, y, 3, seed=0, epochs=5, standardise=False).weight)


def test_each_normalisation_gives_another_head_and_standardise_is_the_default():
    x, y = blobs()
    heads = {n: fit_linear(x, y, 3, seed=0, epochs=5, normalise=n).weight for n in ("standardise", "l2", "none")}
    assert all(np.abs(heads[a] - heads[b]).max() > 1e-3 for a in heads for b in heads if a < b)
    assert np.array_equal(fit_linear(x, y, 3, seed=0, epochs=5).weight, heads["standardise"])


def test_the_evaluator_passes_normalise_and_refuses_unknown_values():
    x, y = blobs(60)
    registry = get_registry()
    results = {n: registry.create("evaluator", "linear", {"normalise": n, "epochs": 3}).evaluate(
        x, y, x + np.float32(0.5), y, 3, np.random.default_rng(0)) for n in ("standardise", "l2", "none")}
    assert all(set(r) == {"top1"} for r in results.values())
    assert registry.create("evaluator", "linear", {}).normalise == "standardise"
    with pytest.raises(LbalError) as refused:
        registry.create("evaluator", "linear", {"normalise": "pool"})
    assert str(refused.value) == (
        "evaluator 'linear': option 'normalise' must be 'standardise' | 'l2' | 'none', got 'pool'")


def assert_runs_without_torch(code: str) -> None:
    """``code`` (given ``np``, ``registry``, ``x`` [20, 4] and ``y``) leaves torch unimported."""
    setup = ("import sys, numpy as np; from lbal_bench.plugins import get_registry; registry = get_registry();"
             "x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32); y = np.arange(20) % 2;")
    subprocess.run([sys.executable, "-c", setup + code + "; assert 'torch' not in sys.modules, 'torch imported'"],
                   check=True)


def test_a_linear_cell_does_not_import_torch():
    assert_runs_without_torch("registry.create('evaluator', 'linear', {'epochs': 2, 'batch_size': 4}).evaluate("
                              "x, y, x, y, 2, np.random.default_rng(0))")


def test_batched_heads_equal_one_at_a_time_bit_for_bit():
    """``fit_linear_batched``: each head as ``fit_linear`` trains it alone (own
    normalisation, initialisation and batch order), in one stacked problem."""
    sets = [blobs(24, 5, 3, seed=s) for s in range(4)]
    xs, ys, seeds = [x for x, _ in sets], [y for _, y in sets], [11, 12, 13, 14]
    for normalise, batch in (("standardise", 4), ("l2", 8)):
        heads = fit_linear_batched(xs, ys, 3, seeds=seeds, epochs=6, milestones=(3,), batch_size=batch, normalise=normalise)
        for x, y, seed, head in zip(xs, ys, seeds, heads):
            alone = fit_linear(x, y, 3, seed=seed, epochs=6, milestones=(3,), batch_size=batch, normalise=normalise)
            assert np.array_equal(head.weight, alone.weight) and np.array_equal(head.bias, alone.bias)
            assert np.array_equal(head.mean, alone.mean) and head.epoch_lrs == alone.epoch_lrs
    with pytest.raises(ValueError, match="same shape"):
        fit_linear_batched([xs[0], xs[1][:10]], ys[:2], 3, seeds=[0, 1])


def test_the_torch_stack_trains_each_head_as_numpy_does():
    """The GPU's path (``bmm`` for a stack of heads), run as torch on the CPU: each head
    equals the lone torch head bit for bit here and numpy's to float32 rounding, the last
    batch of an epoch smaller than the others included (24 rows, batches of 5)."""
    sets = [blobs(24, 5, 3, seed=s) for s in range(3)]
    xs, ys, seeds = [x for x, _ in sets], [y for _, y in sets], [21, 22, 23]
    stacked = fit_linear_batched(xs, ys, 3, seeds=seeds, epochs=6, milestones=(3,), batch_size=5, device="torch-cpu")
    for x, y, seed, head in zip(xs, ys, seeds, stacked):
        alone = fit_linear(x, y, 3, seed=seed, epochs=6, milestones=(3,), batch_size=5, device="torch-cpu")
        numpy_head = fit_linear(x, y, 3, seed=seed, epochs=6, milestones=(3,), batch_size=5)
        assert np.array_equal(head.weight, alone.weight) and np.array_equal(head.bias, alone.bias)
        assert np.abs(head.weight - numpy_head.weight).max() < 1e-5
        assert np.abs(head.bias - numpy_head.bias).max() < 1e-5 and head.device == "cpu"


def test_heads_that_do_not_fit_one_stack_train_in_several(monkeypatch):
    """Where the device has room for fewer heads than the batch (CUDA's free memory; here
    the torch reference told it has one byte, then room for two heads), the heads train in
    several stacks, each head as in one stack."""
    from lbal_bench.kit import training

    sets = [blobs(20, 4, 3, seed=s) for s in range(3)]
    xs, ys, seeds = [x for x, _ in sets], [y for _, y in sets], [5, 6, 7]

    def train():
        return fit_linear_batched(xs, ys, 3, seeds=seeds, epochs=3, batch_size=4, device="torch-cpu")

    together = train()
    calls = []
    real = training._train_torch
    monkeypatch.setattr(training, "_train_torch", lambda part, device: calls.append(len(part.inputs)) or real(part, device))
    for free, stacks in ((1, [1, 1, 1]), (None, [3])):
        monkeypatch.setattr(training, "_device_free_bytes", lambda device: free)
        calls.clear()
        for head, alone in zip(train(), together):
            assert np.array_equal(head.weight, alone.weight) and np.array_equal(head.bias, alone.bias)
        assert calls == stacks
    problem_bytes = 2 * 20 * 5 * 4 + 20 * 8 + 4 * 5 * 3 * 4  # inputs twice, targets, 4 weight-sized arrays
    monkeypatch.setattr(training, "_device_free_bytes", lambda device: 2 * 2 * problem_bytes)
    calls.clear()
    train()
    assert calls == [2, 1]


def test_stacking_pays_on_the_cpu_for_small_steps_and_on_cuda_always(monkeypatch):
    """``batch_pays``: CIFAR's batch of 4 × 10 classes stacks on the CPU, an ImageNet head
    (batch 128 × 1,000 classes) does not; on a CUDA machine both do."""
    import lbal_plugins.evaluators.linear as linear

    cifar, imagenet = linear.Linear(batch_size=4), linear.Linear(batch_size=128)
    monkeypatch.setattr(linear, "cuda_available", lambda: False)
    assert cifar.batch_pays(300, 10) and not imagenet.batch_pays(3000, 1000)
    assert imagenet.batch_pays(20, 100)  # a budget under the batch: 20 × 100 logits a step
    monkeypatch.setattr(linear, "cuda_available", lambda: True)
    assert cifar.batch_pays(300, 10) and imagenet.batch_pays(3000, 1000)
