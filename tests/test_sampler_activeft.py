"""The ``activeft`` sampler: distribution-matching, diverse centroids, the point nearest each."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sampler_contract import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

from lbal_bench.testing import sampler_checks
from lbal_plugins.samplers.activeft import loss_and_gradient, nearest_free

CASES = contract_cases()


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
def test_conformance(check):
    check.run(make_sampler("activeft"))


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("activeft", iterations=50), *CASES[case])


@pytest.mark.parametrize("balance", [1.0, 0.5])
def test_the_written_out_gradient_is_autograd_s(balance):
    g = torch.Generator().manual_seed(0)
    unit = lambda t: t / t.norm(dim=1, keepdim=True)
    points, fixed = unit(torch.randn(120, 8, generator=g, dtype=torch.float64)), unit(torch.randn(3, 8, generator=g, dtype=torch.float64))
    params = torch.randn(5, 8, generator=g, dtype=torch.float64).requires_grad_(True)
    every = torch.cat([fixed, unit(params)])
    positive = (points @ every.T / 0.07).max(dim=1).values
    nearest = (points @ every.T).argmax(dim=1)
    spread = torch.exp(every.detach() @ every.T / 0.07).sum(dim=0)  # the reference's form
    loss = -(torch.log(torch.exp(positive)) - torch.log(torch.exp(positive) + spread[nearest] * balance)).mean()
    loss.backward()
    ours, grad = loss_and_gradient(points, fixed, params.detach(), 0.07, balance)
    assert float(ours) == pytest.approx(loss.item(), rel=1e-12)
    torch.testing.assert_close(grad, params.grad, rtol=1e-9, atol=1e-12)


def test_optimising_the_centroids_covers_more_blobs_than_their_random_start():
    features, blob = blobs(40, 6, dim=16, spread=1.0, seed=1)
    covered = {}
    for iterations in (0, 300):  # 0: the random initial centroids' nearest points
        picks = [make_sampler("activeft", iterations=iterations).select(pool_of(features, (), 6, blob), 6,
                                                                       np.random.default_rng(seed))
                 for seed in range(4)]
        covered[iterations] = np.mean([len(set(blob[p])) for p in picks])
    assert covered[300] >= 5 and covered[300] > covered[0] + 1


def test_labeled_points_push_the_new_centroids_to_the_other_blobs():
    features, blob = blobs(40, 6, dim=16, spread=1.0, seed=1)
    labeled = np.array([0, 40, 80])  # one point in each of blobs 0, 1, 2
    in_labeled_blobs = {}
    for iterations in (0, 300):
        picks = [make_sampler("activeft", iterations=iterations).select(pool_of(features, labeled, 6, blob), 3,
                                                                       np.random.default_rng(seed))
                 for seed in range(6)]
        in_labeled_blobs[iterations] = sum(int((blob[p] < 3).sum()) for p in picks)
    assert in_labeled_blobs[300] <= 1 < in_labeled_blobs[0]


def test_each_centroid_takes_the_most_similar_point_not_taken():
    points = np.eye(3, dtype=np.float32)
    centroids = np.array([[1, 0.1, 0], [1, 0, 0.2], [0, 0, 1]], np.float32)
    assert list(nearest_free(centroids, points)) == [0, 2, 1]


def test_a_large_pool_is_cut_to_a_random_subset_of_unlabeled_points():
    features, blob = blobs(40, 6, dim=16, spread=1.0, seed=1)
    pool = pool_of(features, [0, 1], 6, blob)
    runs = [make_sampler("activeft", subset_size=30, iterations=20).select(pool, 5, np.random.default_rng(s))
            for s in (0, 0, 1)]
    assert_valid(runs[0], pool, 5)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(np.sort(runs[0]), np.sort(runs[2]))
