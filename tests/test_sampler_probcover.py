"""The ``probcover`` sampler: greedy maximum coverage by δ-balls."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, check_contract, contract_cases, make_sampler, pool_of

from lbal_bench import LbalError
from lbal_bench.features import l2_normalise
from lbal_plugins.datasets.synthetic import clustered_features
from lbal_plugins.samplers.probcover import purity_delta

CASES = contract_cases()


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("probcover"), *CASES[case])


def test_is_iterative_cold_start_and_reads_no_labels():
    sampler = make_sampler("probcover")
    assert sampler.iterative is True and sampler.uses_labels is False and sampler.cold_start is True


@pytest.mark.parametrize("options", [{"delta": 0}, {"delta": "auto"}, {"delta": True}, {"purity": 0}, {"purity": 1.5},
                                     {"grid_step": 0}, {"max_delta": 3}, {"niter": 0}])
def test_rejects_bad_options(options):
    with pytest.raises(LbalError, match=next(iter(options))):
        make_sampler("probcover", **options)


def sphere(n: int, dim: int, seed: int) -> np.ndarray:
    return l2_normalise(np.random.default_rng(seed).normal(size=(n, dim)))


def distances(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0))


def safe_delta(d: np.ndarray, near: float) -> float:
    """A radius close to ``near`` with no pair distance within 1e-3 of it."""
    values = np.sort(d[np.triu_indices(len(d), 1)])
    gaps = np.flatnonzero(np.diff(values) > 2e-3)
    edge = gaps[np.argmin(np.abs(values[gaps] - near))]
    return float(values[edge] + values[edge + 1]) / 2


def brute_force_greedy(adjacent: np.ndarray, labeled: np.ndarray) -> list[int]:
    """Max coverage on a dense adjacency matrix, until nothing new can be covered."""
    covered = adjacent[labeled].any(axis=0)
    picks = []
    while (gains := (adjacent & ~covered).sum(axis=1)).max():
        picks.append(int(np.argmax(gains)))
        covered |= adjacent[picks[-1]]
    return picks


@pytest.mark.parametrize("labeled", [(), (3, 17, 40)])
def test_picks_equal_brute_force_greedy_max_coverage(labeled):
    x = sphere(60, 3, seed=1)
    d = distances(x)
    delta = safe_delta(d, 0.5)
    expected = brute_force_greedy(d < delta, np.asarray(labeled, dtype=np.int64))
    assert 5 < len(expected) < 60 - len(labeled)  # the test saturates before the pool runs out
    pool = pool_of(x, labeled)
    chosen = make_sampler("probcover", delta=delta).select(pool, len(expected), np.random.default_rng(0))
    assert list(chosen) == expected


def test_after_full_coverage_the_rest_is_random_unlabeled_points():
    x = sphere(60, 3, seed=1)
    d = distances(x)
    delta = safe_delta(d, 0.5)
    labeled = np.array([3, 17, 40])
    greedy = brute_force_greedy(d < delta, labeled)
    pool = pool_of(x, labeled)
    sampler = make_sampler("probcover", delta=delta)
    budget = len(greedy) + 10
    first = sampler.select(pool, budget, np.random.default_rng(0))
    assert_valid(first, pool, budget)
    assert list(first[:len(greedy)]) == greedy
    other = sampler.select(pool, budget, np.random.default_rng(1))
    assert list(other[:len(greedy)]) == greedy and set(other[len(greedy):]) != set(first[len(greedy):])


def separated_blobs(n_per: int = 30, seed: int = 0):
    """Three tight blobs around orthogonal directions: diameter ~0.2, ~1.4 apart."""
    rng = np.random.default_rng(seed)
    x = np.repeat(np.eye(3, 8), n_per, axis=0) + 0.03 * rng.normal(size=(3 * n_per, 8))
    return l2_normalise(x), np.repeat(np.arange(3), n_per)


def brute_force_purity(d: np.ndarray, labels: np.ndarray, delta: float) -> float:
    other = labels[:, None] != labels[None, :]
    return float((~((d < delta) & other).any(axis=1)).mean())


@pytest.mark.parametrize("alpha", [0.5, 0.9, 1.0])
def test_purity_rule_takes_the_largest_delta_whose_balls_are_pure_enough(alpha):
    x = sphere(90, 3, seed=2)
    pseudo = np.argmax(np.abs(x), axis=1)  # regions of the sphere: purity falls gradually with δ
    grid = np.round(0.05 * np.arange(1, 41), 10)
    purities = np.array([brute_force_purity(distances(x), pseudo, g) for g in grid])
    assert 0 < (purities >= alpha).sum() < len(grid)
    best = np.flatnonzero(purities >= alpha)[-1]
    for probes in (1, 5, 90):  # the first radius too low, too high, right: one answer
        delta, purity, pairs = purity_delta(x, pseudo, grid, alpha, probes=probes)
        assert (delta, purity) == (grid[best], purities[best])
        found = {(int(i), int(j)) for i, j, d2 in zip(pairs.i, pairs.j, pairs.d2) if d2 < np.float32(delta**2)}
        assert found == {(int(i), int(j)) for i, j in np.argwhere(np.triu(distances(x) < delta, 1))}


def test_purity_rule_falls_back_to_the_smallest_delta():
    x = np.repeat(np.eye(2, 4, dtype=np.float32), 2, axis=0)
    pseudo = np.array([0, 1, 2, 3])  # duplicates with different labels: no ball is pure
    assert purity_delta(x, pseudo, np.array([0.1, 0.2]), 0.5)[:2] == (0.1, 0.0)


def test_purity_rule_on_separated_blobs_reaches_across_each_blob_only():
    x, blob = separated_blobs()
    d = distances(x)
    delta, purity, _ = purity_delta(x, blob, np.round(0.05 * np.arange(1, 41), 10), 0.95)
    assert purity == 1.0
    assert d[blob[:, None] == blob[None, :]].max() < delta <= d[blob[:, None] != blob[None, :]].min()


def test_delta_by_purity_on_separated_blobs_gives_one_pick_per_blob():
    x, blob = separated_blobs()
    pool = pool_of(x, num_classes=3)
    sampler = make_sampler("probcover")
    delta, _, _ = sampler.delta_and_graph(pool, np.random.default_rng(0))
    d = distances(x)
    assert d[blob[:, None] == blob[None, :]].max() < delta <= d[blob[:, None] != blob[None, :]].min()
    chosen = sampler.select(pool, 3, np.random.default_rng(0))
    assert sorted(blob[chosen]) == [0, 1, 2]


def test_records_delta_rule_and_purity_in_pool_info():
    x, _ = separated_blobs()
    pool = pool_of(x, num_classes=3)
    make_sampler("probcover").select(pool, 3, np.random.default_rng(0))
    assert pool.info["delta_rule"] == "auto-once" and pool.info["purity"] >= 0.95 and pool.info["delta"] > 0
    given = pool_of(x, num_classes=3)
    make_sampler("probcover", delta=0.5).select(given, 3, np.random.default_rng(0))
    assert given.info == {"delta": 0.5, "delta_rule": "given"}


def test_auto_once_seeds_its_kmeans_with_a_constant_and_auto_per_step_with_the_step(monkeypatch):
    import lbal_plugins.samplers.probcover as module

    seeds = []
    x, _ = separated_blobs()
    monkeypatch.setattr(module.ProbCover, "purity_rule",
                        lambda self, x, k, seed: seeds.append(seed) or (0.3, 1.0, module.close_pairs(x, 0.3)))
    once = make_sampler("probcover")
    for seed in (0, 1):  # another seed, another step: the same pool, one δ computed once
        once.delta_and_graph(pool_of(x, num_classes=3), np.random.default_rng(seed))
    assert seeds == [module.ONCE_SEED]
    per_step = make_sampler("probcover", delta="auto-per-step")
    for seed in (0, 1):
        per_step.delta_and_graph(pool_of(x, num_classes=3), np.random.default_rng(seed))
    assert seeds[1:] == [int(np.random.default_rng(s).integers(2**31 - 1)) for s in (0, 1)]


def test_from_zero_labels_picks_the_densest_ball_first():
    x, blob = separated_blobs()
    pool = pool_of(x, num_classes=3)
    assert len(pool.labeled) == 0
    d = distances(x)
    delta = safe_delta(d, 0.1)
    chosen = make_sampler("probcover", delta=delta).select(pool, 1, np.random.default_rng(0))
    assert chosen[0] == int(np.argmax((d < delta).sum(axis=1)))


def brute_force_purity_rule(x: np.ndarray, pseudo: np.ndarray, grid: np.ndarray, alpha: float) -> float:
    """The purity rule on dense distances: the largest δ of the grid pure enough, else the smallest."""
    purities = [brute_force_purity(distances(x), pseudo, g) for g in grid]
    pure = [g for g, p in zip(grid, purities) if p >= alpha]
    return pure[-1] if pure else grid[0]


@pytest.mark.parametrize("labeled", [(), (5, 200, 333)])
def test_default_rule_and_picks_equal_a_dense_restatement(labeled):
    """Clustered unit vectors (the synthetic dataset's): δ by the purity rule and the greedy
    picks at that δ, against dense distances."""
    x, _ = clustered_features(400, 32, 8, spread=0.6, seed=3)
    sampler = make_sampler("probcover")
    pseudo = sampler.cluster_labels(x, 8, 0)
    delta = brute_force_purity_rule(x, pseudo, sampler.grid(), 0.95)
    assert 0.05 < delta < 2
    pool = pool_of(x, labeled, num_classes=8)
    chosen = sampler.select(pool, 12, np.random.default_rng(0))
    assert pool.info["delta"] == delta
    expected = brute_force_greedy(distances(x) < delta, np.asarray(labeled, dtype=np.int64))
    assert list(chosen[:len(expected)]) == expected[:12]


def test_a_chain_searches_once_per_pool(monkeypatch):
    import lbal_plugins.samplers.probcover as module

    calls = []
    search = module.close_pairs
    monkeypatch.setattr(module, "close_pairs", lambda *args: calls.append(args[1]) or search(*args))
    x, _ = separated_blobs()
    sampler = make_sampler("probcover")
    first = sampler.select(pool_of(x, num_classes=3), 2, np.random.default_rng(0))
    later = sampler.select(pool_of(x, first, num_classes=3), 2, np.random.default_rng(1))
    assert len(calls) == 1 and not set(first) & set(later)
    given = make_sampler("probcover", delta=0.3)
    for seed in (0, 1):
        given.select(pool_of(x, num_classes=3), 2, np.random.default_rng(seed))
    assert calls[1:] == [0.3]
