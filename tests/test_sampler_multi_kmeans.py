"""The ``multi_kmeans`` sampler: the sampler contract, the K-means options it shares with
``kmeans``, and nearest-unlabeled-to-centre picks when part of the pool is labeled."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from lbal_bench import LbalError
from lbal_bench.plugins import get_registry
from sampler_contract import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

CASES = contract_cases()


@pytest.mark.parametrize("case", CASES)
def test_contract_without_reading_labels(case):
    pool, budget = CASES[case]
    check_contract(make_sampler("multi_kmeans"), pool, budget)
    assert pool.oracle.requests() == 0


@pytest.mark.parametrize("init", ["greedy", "random", "kmeans++", "afkmc2"])
def test_contract_with_every_init(init):
    pool, budget = CASES["duplicate-rows-labeled"]
    check_contract(make_sampler("multi_kmeans", init=init, nredo=2, max_points_per_centroid=4), pool, budget)


def test_declares_iterative_and_label_free():
    sampler = make_sampler("multi_kmeans")
    assert sampler.iterative is True and sampler.uses_labels is False


def test_takes_the_kmeans_samplers_options_and_defaults():
    factories = {name: get_registry().get("sampler", name).factory for name in ("kmeans", "multi_kmeans")}
    signatures = {name: inspect.signature(f).parameters for name, f in factories.items()}
    defaults = {name: {p: v.default for p, v in params.items()} for name, params in signatures.items()}
    assert defaults["multi_kmeans"] == defaults["kmeans"]
    assert {"niter", "nredo"} <= set(defaults["kmeans"])


@pytest.mark.parametrize("name", ["kmeans", "multi_kmeans"])
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"niter": 0}, "option 'niter' must be int \\(>= 1\\), got 0"),
        ({"nredo": 2.5}, "option 'nredo' must be int \\(>= 1\\), got 2.5"),
        ({"nredo": True}, "option 'nredo' must be int \\(>= 1\\), got True"),
        ({"max_points_per_centroid": 0}, "option 'max_points_per_centroid' must be int \\| None \\(>= 1\\), got 0"),
        ({"init": "kmeans+"}, "init must be one of greedy, random, kmeans\\+\\+, afkmc2, got 'kmeans\\+'"),
        ({"backend": "sk"}, "backend must be one of faiss, sklearn, got 'sk'"),
        ({"fixed_seed": 1}, "option 'fixed_seed' must be bool, got 1"),
    ],
)
def test_bad_options_are_refused_with_the_option_named(name, options, message):
    with pytest.raises(LbalError, match=f"sampler '{name}': {message}"):
        make_sampler(name, **options)


def nearest_unlabeled_to_mean(features, blob_ids, labeled):
    """For each blob, the unlabeled pool point nearest to the mean of the whole blob."""
    free = np.ones(len(features), dtype=bool)
    free[labeled] = False
    picks = []
    for blob in np.unique(blob_ids):
        mean = features[blob_ids == blob].astype(np.float64).mean(axis=0)
        dist = np.where(free, ((features - mean) ** 2).sum(axis=1), np.inf)
        picks.append(int(np.argmin(dist)))
    return picks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_picks_the_unlabeled_point_nearest_each_blob_centre(seed):
    """Blob 0 fully labeled, blobs 1 and 2 without their 3 most central points, blobs 3
    and 4 untouched; budget 5. K-means on the whole pool finds the 5 blobs, so every
    centre is a blob's mean, and each pick is the nearest unlabeled point to it: for blob 0
    a point of another blob, for blobs 1 and 2 an off-centre point."""
    features, blob_ids = blobs(40, 5, spread=0.3, seed=seed)
    labeled = [np.flatnonzero(blob_ids == 0)]
    for blob in (1, 2):
        members = np.flatnonzero(blob_ids == blob)
        dist = ((features[members] - features[members].mean(axis=0)) ** 2).sum(axis=1)
        labeled.append(members[np.argsort(dist)[:3]])
    labeled = np.sort(np.concatenate(labeled))
    pool = pool_of(features, labeled)

    chosen = make_sampler("multi_kmeans").select(pool, 5, np.random.default_rng(seed))

    assert_valid(chosen, pool, 5)
    assert sorted(chosen) == sorted(nearest_unlabeled_to_mean(features, blob_ids, labeled))
    assert set(blob_ids[chosen]) >= {1, 2, 3, 4}
