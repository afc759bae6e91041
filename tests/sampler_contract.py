"""Shared checks for sampler tests: pools, blobs and the sampler contract."""

from __future__ import annotations

import numpy as np

from lbal_bench import LabelOracle, Pool
from lbal_bench.features import l2_normalise
from lbal_bench.plugins import get_registry


def make_sampler(name: str, **options):
    """Build a sampler through the registry, as a suite would."""
    return get_registry().create("sampler", name, options)


def pool_of(features: np.ndarray, labeled=(), num_classes: int = 4) -> Pool:
    """A pool over read-only features whose oracle reveals the labeled points only."""
    features = np.array(features, dtype=np.float32)
    features.setflags(write=False)
    labeled = np.asarray(labeled, dtype=np.int64)
    labels = np.arange(len(features)) % num_classes
    return Pool(features, labeled, num_classes, LabelOracle(labels, labeled))


def blobs(n_per: int, centres: int, dim: int = 8, spread: float = 1.0, seed: int = 0):
    """L2-normalised Gaussian blobs around random means of scale 5: ``(features, blob ids)``."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dim)) * 5
    x = np.concatenate([m + spread * rng.normal(size=(n_per, dim)) for m in means])
    return l2_normalise(x), np.repeat(np.arange(centres), n_per)


def assert_valid(chosen: np.ndarray, pool: Pool, budget: int) -> None:
    """Exactly ``budget`` unique int64 in-range indices, none labeled."""
    assert chosen.dtype == np.int64
    assert len(chosen) == budget == len(np.unique(chosen))
    assert chosen.min() >= 0 and chosen.max() < len(pool.features)
    assert not np.isin(chosen, pool.labeled).any()


def contract_cases() -> dict[str, tuple[Pool, int]]:
    """Pools and budgets every sampler must handle: ``id -> (pool, budget)``."""
    features, _ = blobs(30, 4)
    duplicates = np.repeat(np.eye(5, 8, dtype=np.float32), 24, axis=0)  # 120 rows, 5 distinct
    labeled = np.arange(0, 120, 7)
    return {
        "budget-1": (pool_of(features), 1),
        "some-labeled": (pool_of(features, labeled), 20),
        "every-unlabeled-point": (pool_of(features, labeled), 120 - len(labeled)),
        "duplicate-rows": (pool_of(duplicates), 30),
        "duplicate-rows-labeled": (pool_of(duplicates, labeled), 60),
        "every-duplicate": (pool_of(duplicates, labeled), 120 - len(labeled)),
    }


def check_contract(sampler, pool: Pool, budget: int) -> None:
    """Valid selection, identical for the same seed."""
    chosen = sampler.select(pool, budget, np.random.default_rng(0))
    assert_valid(chosen, pool, budget)
    np.testing.assert_array_equal(chosen, sampler.select(pool, budget, np.random.default_rng(0)))
