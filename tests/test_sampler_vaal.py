"""The ``vaal`` sampler: VAE + labeled/unlabeled discriminator, least labeled-looking picks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lbal_bench import LabelOracle, LbalError, Pool
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


@pytest.mark.parametrize("options, message", [
    ({"iterations": 0}, "iterations must be at least 1"),
    ({"latent_dim": 0}, "latent_dim must be at least 1"),
    ({"lr": -1.0}, "lr must be positive"),
    ({"beta": -1.0}, "beta and adversary_param must not be negative"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(LbalError, match=message):
        vaal(**options)
