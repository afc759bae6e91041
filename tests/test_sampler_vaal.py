"""The ``vaal`` sampler: VAE + labeled/unlabeled discriminator, least labeled-looking picks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lbal_bench import LabelOracle, Pool
from lbal_bench.features import l2_normalise
from lbal_bench.plugins import get_registry
from sampler_contract import assert_valid

FAST = {"iterations": 20, "hidden_dim": 32, "latent_dim": 8}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The networks here are tiny: one thread is fastest, and on a busy 2-core machine
    two OpenMP threads wait on each other and run tens of times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def vaal(**options):
    return get_registry().create("sampler", "vaal", options)


def two_regions(labeled_region: int = 0, n: int = 300, dim: int = 16, labeled_count: int = 30):
    """Two well separated blobs; the labeled points all come from ``labeled_region``."""
    rng = np.random.default_rng(0)
    means = rng.normal(size=(2, dim))
    features = l2_normalise(np.concatenate([m + rng.normal(size=(n, dim)) for m in means]).astype(np.float32))
    region = np.repeat([0, 1], n)
    labeled = np.sort(labeled_region * n + rng.choice(n, labeled_count, replace=False))
    return Pool(features, labeled, 2, LabelOracle(region, labeled)), region



def test_declares_iterative_and_label_free():
    assert vaal().iterative is True and vaal().uses_labels is False


@pytest.mark.parametrize("labeled_region", [0, 1])
def test_picks_come_from_the_region_without_labels(labeled_region):
    pool, region = two_regions(labeled_region)
    other = region[pool.unlabeled] != labeled_region
    random_share = other.mean()  # what uniform random picks would get, on average
    assert 0.5 < random_share < 0.55
    for seed in (0, 1):
        chosen = vaal(iterations=100, hidden_dim=64).select(pool, 40, np.random.default_rng(seed))
        assert_valid(chosen, pool, 40)
        assert (region[chosen] != labeled_region).mean() >= 0.9


def test_never_asks_for_a_label():
    pool, _ = two_regions()
    vaal(**FAST).select(pool, 10, np.random.default_rng(0))
    assert pool.oracle.requests() == 0


def test_deterministic_for_a_seed():
    pool, _ = two_regions()
    a = vaal(**FAST).select(pool, 25, np.random.default_rng(3))
    b = vaal(**FAST).select(pool, 25, np.random.default_rng(3))
    c = vaal(**FAST).select(pool, 25, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("budget", [1, 570])
def test_budget_of_one_and_of_every_unlabeled_point(budget):
    pool, _ = two_regions()
    chosen = vaal(**FAST).select(pool, budget, np.random.default_rng(0))
    assert_valid(chosen, pool, budget)
    if budget == len(pool.unlabeled):
        assert sorted(chosen) == list(pool.unlabeled)


def test_duplicate_rows_and_a_labeled_set_smaller_than_a_batch():
    features = l2_normalise(np.repeat(np.random.default_rng(0).normal(size=(5, 8)), 20, axis=0).astype(np.float32))
    labeled = np.array([0, 1, 40])
    pool = Pool(features, labeled, 3, LabelOracle(np.zeros(100, np.int64), labeled))
    chosen = vaal(**FAST).select(pool, 30, np.random.default_rng(0))
    assert_valid(chosen, pool, 30)


def test_an_empty_labeled_set_is_refused():
    features = l2_normalise(np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32))
    pool = Pool(features, np.empty(0, np.int64), 2, LabelOracle(np.zeros(10, np.int64), np.empty(0, np.int64)))
    with pytest.raises(ValueError, match="vaal needs an initial labeled pool"):
        vaal().select(pool, 2, np.random.default_rng(0))


def torch_reference_scores(sampler, pool, rng):
    """The sampler's training written with torch autograd and ``torch.optim.Adam`` (the
    implementation before the numpy one, with the same noise and batches): the
    discriminator's logits for the unlabeled points."""
    import torch.nn.functional as F
    from torch import nn

    dim, z, half = pool.features.shape[1], sampler.latent_dim, sampler.batch_size
    labeled, unlabeled = pool.labeled, pool.unlabeled
    seed = int(rng.integers(2**31 - 1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        h = sampler.hidden_dim
        encoder = nn.Sequential(nn.Linear(dim, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2 * z))
        decoder = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, dim))
        discriminator = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))
    noise = np.random.default_rng(int(rng.integers(2**31 - 1)))
    optim_vae = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=sampler.lr)
    optim_disc = torch.optim.Adam(discriminator.parameters(), lr=sampler.lr)
    scale = np.float32(np.sqrt(dim))

    def rows(indices):
        return torch.as_tensor(np.asarray(pool.features[indices], dtype=np.float32) * scale)

    is_labeled = torch.cat([torch.ones(half, 1), torch.zeros(half, 1)])
    for _ in range(sampler.iterations):
        for _ in range(sampler.vae_steps):
            x = rows(np.concatenate([part[rng.integers(len(part), size=half)] for part in (labeled, unlabeled)]))
            mu, logvar = encoder(x).chunk(2, dim=1)
            latent = mu + (0.5 * logvar).exp() * torch.as_tensor(noise.standard_normal(mu.shape, dtype=np.float32))
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean() / dim
            fool = F.binary_cross_entropy_with_logits(discriminator(mu), torch.ones_like(is_labeled))
            loss = F.mse_loss(decoder(latent), x) + sampler.beta * kl + sampler.adversary_param * fool
            optim_vae.zero_grad(set_to_none=True)
            loss.backward()
            optim_vae.step()
        with torch.no_grad():
            mu = encoder(x)[:, :z]
        tell = F.binary_cross_entropy_with_logits(discriminator(mu), is_labeled)
        optim_disc.zero_grad(set_to_none=True)
        tell.backward()
        optim_disc.step()
    with torch.no_grad():
        return discriminator(encoder(rows(unlabeled))[:, :z]).numpy()[:, 0]


def test_numpy_training_is_torch_autograd_to_float_rounding():
    """The hand-written gradients and Adam equal torch's: same initialisation, batches and
    noise give the same discriminator scores up to float32 rounding (the arithmetic order
    differs, so the last bits do; over the 300 default iterations such differences can
    swap near-tied picks)."""
    pool, _ = two_regions()
    sampler = vaal(iterations=10, hidden_dim=64, latent_dim=8, batch_size=16)
    _, ours = sampler.scores(pool, np.random.default_rng(5))
    theirs = torch_reference_scores(sampler, pool, np.random.default_rng(5))
    assert np.abs(ours - theirs).max() < 1e-4 * max(1.0, np.abs(theirs).max())
    assert not np.allclose(ours, ours[0])  # the scores carry information


def torch_mlp(mlp):
    layers = []
    for weight, bias in zip(mlp.params[::2], mlp.params[1::2]):
        layer = torch.nn.Linear(*weight.shape)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(weight.T))
            layer.bias.copy_(torch.as_tensor(bias))
        layers += [layer, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def test_gradients_at_the_default_sizes_equal_autograd():
    """One VAE step's and one discriminator step's gradients at the default sizes (256
    hidden units, 32 latent, batch 128 + 128) against torch autograd on the same
    networks, batch and noise: equal to float32 rounding (1e-5 of each tensor's largest entry). Adam divides by
    the gradient's running magnitude, so over hundreds of steps the rounding of near-zero
    gradients grows into different weights and can swap picks at near-ties."""
    import torch.nn.functional as F

    sampler, dim = vaal(), 16
    encoder, decoder, discriminator = sampler.networks(dim, seed=7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2 * sampler.batch_size, dim)).astype(np.float32)
    eps = rng.normal(size=(len(x), sampler.latent_dim)).astype(np.float32)
    ours = sampler.vae_gradients(encoder, decoder, discriminator, x, eps)
    ours_disc = sampler.discriminator_gradients(encoder, discriminator, x)
    nets = [torch_mlp(m) for m in (encoder, decoder, discriminator)]
    tx = torch.as_tensor(x)
    mu, logvar = nets[0](tx).chunk(2, dim=1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean() / dim
    latent = mu + (0.5 * logvar).exp() * torch.as_tensor(eps)
    fool = F.binary_cross_entropy_with_logits(nets[2](mu), torch.ones(len(x), 1))
    (F.mse_loss(nets[1](latent), tx) + kl + fool).backward()
    is_labeled = torch.cat([torch.ones(len(x) // 2, 1), torch.zeros(len(x) // 2, 1)])
    tell = F.binary_cross_entropy_with_logits(nets[2](mu.detach()), is_labeled)
    nets[2].zero_grad()
    tell.backward()
    theirs = [p.grad.numpy() for net in nets for p in net.parameters()]
    for a, b in zip(ours + ours_disc, theirs):
        b = b.T if b.ndim == 2 else b
        assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()


def test_initialisation_is_torch_linear_bit_for_bit():
    encoder, decoder, discriminator = vaal(hidden_dim=16, latent_dim=4).networks(8, seed=11)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        layers = [torch.nn.Linear(i, o) for i, o in ((8, 16), (16, 16), (16, 8), (4, 16), (16, 16), (16, 8),
                                                      (4, 16), (16, 16), (16, 1))]
    params = encoder.params + decoder.params + discriminator.params
    for layer, weight, bias in zip(layers, params[::2], params[1::2]):
        assert np.array_equal(weight, layer.weight.detach().numpy().T)
        assert np.array_equal(bias, layer.bias.detach().numpy())


def test_runs_without_importing_torch():
    from test_evaluator_linear import assert_runs_without_torch

    assert_runs_without_torch("from lbal_bench import Pool, LabelOracle; lab = np.arange(5);"
                              "registry.create('sampler', 'vaal', {'iterations': 2, 'hidden_dim': 8}).select("
                              "Pool(x, lab, 2, LabelOracle(y, lab)), 3, np.random.default_rng(0))")
