"""Our samplers against independent, brute-force re-statements of their papers' algorithms.

Each ``*_reference`` function below restates one method as its paper (and reference code)
describes it, in the most direct form: full distance or kernel matrices, recomputing every
score at every pick, autograd instead of written-out gradients. The fixed cases are a few
hundred points in well-separated Gaussian blobs, so that the clustering is unambiguous
and the picks are determined; a sampler must pick exactly what its re-statement picks.
``benchmarks/bench_reference.py`` runs the same re-statements beside the samplers on
scikit-learn's digits.

The samplers are exercised only through their public sampler API (``make_sampler``).
"""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import make_sampler, pool_of


def separated_blobs(sizes, dim: int = 16, spread: float = 0.3, seed: int = 0):
    """L2-normalised blobs of the given sizes around random, far-apart means: ``(x, blob)``."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(len(sizes), dim)) * 5
    x = np.concatenate([m + spread * rng.normal(size=(n, dim)) for m, n in zip(means, sizes)])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), np.repeat(np.arange(len(sizes)), sizes)


def distances(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.sqrt(np.clip((x * x).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2 * x @ x.T, 0, None))


# --- the re-statements ---------------------------------------------------------------


def coreset_reference(x: np.ndarray, centres: list[int], budget: int) -> list[int]:
    """Sener & Savarese's k-center greedy: the point farthest from every centre, each time."""
    d, picks = distances(x), []
    for _ in range(budget):
        farthest = d[:, centres + picks].min(axis=1)
        farthest[centres + picks] = -1
        picks.append(int(np.argmax(farthest)))
    return picks


def maxherding_reference(x: np.ndarray, labeled: list[int], budget: int, h: float = 1.0) -> list[int]:
    """Bae et al.: add the point that maximises the coverage ``sum_j max_{s in S} k(x_j, x_s)``
    of ``S`` = the labeled and picked points and it, recomputed in full for every candidate."""
    kernel, picks = np.exp(-(distances(x) / h) ** 2), []
    for _ in range(budget):
        chosen = labeled + picks
        covered = kernel[:, chosen].max(axis=1) if chosen else np.zeros(len(x))
        coverage = np.maximum(kernel, covered[None, :]).sum(axis=1)  # of S and candidate i, per row i
        coverage[chosen] = -np.inf
        picks.append(int(np.argmax(coverage)))
    return picks


def typiclust_reference(x: np.ndarray, budget: int, seed: int, knn: int = 20, min_cluster_size: int = 5) -> list[int]:
    """Hacohen et al. from zero labels: scikit-learn K-means into ``budget`` clusters (the
    reference code's clustering for k <= 50); clusters larger than ``min_cluster_size`` by
    size, largest first; from each, the point of highest typicality
    1 / (mean squared distance to its k = min(knn, size // 2) nearest cluster-mates)."""
    from sklearn.cluster import KMeans

    clusters = KMeans(n_clusters=budget, random_state=seed).fit(x).labels_
    sizes = np.bincount(clusters, minlength=budget)
    order = sorted((c for c in range(budget) if sizes[c] > min_cluster_size), key=lambda c: -sizes[c])
    d2, picks = distances(x) ** 2, []
    for c in order[:budget]:
        members = np.flatnonzero(clusters == c)
        inner = d2[np.ix_(members, members)] + np.diag(np.full(len(members), np.inf))
        k = min(knn, len(members) // 2)
        mean_knn = np.sort(inner, axis=1)[:, :k].mean(axis=1)
        picks.append(int(members[np.argmax(1 / (mean_knn + 1e-5))]))
    return picks


def probcover_reference(x: np.ndarray, delta: float, budget: int) -> list[int]:
    """Yehuda et al. from zero labels: the δ-ball holding the most uncovered points, each
    time, until every point is covered."""
    ball = distances(x) < delta
    covered, picks = np.zeros(len(x), dtype=bool), []
    for _ in range(budget):
        counts = (ball & ~covered[None, :]).sum(axis=1)
        if not counts.any():
            break  # all covered: the reference code would return index 0 again and again
        picks.append(int(np.argmax(counts)))
        covered |= ball[picks[-1]]
    return picks


def activeft_reference(x: np.ndarray, start: np.ndarray, temperature: float = 0.07, iterations: int = 300,
                       lr: float = 0.001) -> list[int]:
    """Xie et al. from zero labels, as the reference script: the loss written with ``exp``,
    autograd and ``torch.optim.Adam`` on centroids started at the points ``start``; then
    each centroid in order takes the most similar point not taken."""
    import torch
    import torch.nn.functional as F

    features = torch.tensor(x, dtype=torch.float64)
    centroids = torch.nn.Parameter(features[start].clone())
    optimiser = torch.optim.Adam([centroids], lr=lr)
    for _ in range(iterations):
        unit = F.normalize(centroids, dim=1)
        positive, nearest = torch.max(torch.exp(features @ unit.T / temperature), dim=1)
        spread = torch.exp(unit.detach() @ unit.T / temperature).sum(dim=0)
        loss = -torch.mean(torch.log(positive) - torch.log(positive + spread[nearest]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    similarity = F.normalize(centroids.detach(), dim=1) @ features.T
    picks: list[int] = []
    for row in similarity:
        picks.append(next(int(i) for i in torch.argsort(row, descending=True) if int(i) not in picks))
    return picks


# --- the fixed cases -----------------------------------------------------------------

SIZES = (60, 55, 50, 45, 40, 35)  # 285 points, distinct sizes: the cluster order is unambiguous


@pytest.fixture(scope="module")
def case():
    return separated_blobs(SIZES)


@pytest.mark.parametrize("labeled", [[], [0, 100]])
def test_coreset(case, labeled):
    x, blob = case
    chosen = make_sampler("coreset").select(pool_of(x, labeled, 6, blob), 12, np.random.default_rng(3))
    centres = labeled or [int(chosen[0])]  # from zero labels the first centre is random
    assert list(chosen[len(centres) - len(labeled):]) == coreset_reference(x, centres, 12 - len(centres) + len(labeled))
    assert len(set(blob[labeled]) | set(blob[chosen[:6 - len(labeled)]])) == 6  # every blob first


@pytest.mark.parametrize("labeled", [[], [0, 100]])
def test_maxherding(case, labeled):
    x, blob = case
    chosen = make_sampler("maxherding").select(pool_of(x, labeled, 6, blob), 8, np.random.default_rng(0))
    assert list(chosen) == maxherding_reference(x, labeled, 8)


@pytest.mark.parametrize("seed", [0, 1])
def test_typiclust(case, seed):
    x, blob = case
    chosen = make_sampler("typiclust").select(pool_of(x, (), 6, blob), 6, np.random.default_rng(seed))
    expected = typiclust_reference(x, 6, seed)
    assert sorted(blob[expected]) == list(range(6))  # the re-statement found the blobs
    assert list(chosen) == expected  # largest blob first, its most typical point


def test_probcover(case):
    x, blob = case
    chosen = make_sampler("probcover", delta=0.3).select(pool_of(x, (), 6, blob), 9, np.random.default_rng(0))
    expected = probcover_reference(x, 0.3, 9)
    assert len(expected) == 6  # one ball per blob covers the pool
    assert list(chosen[:6]) == expected and sorted(blob[expected]) == list(range(6))


def test_activeft(case):
    x, blob = case
    seed = 4
    chosen = make_sampler("activeft").select(pool_of(x, (), 6, blob), 6, np.random.default_rng(seed))
    start = np.random.default_rng(seed).choice(len(x), 6, replace=False)  # the sampler's starting centroids
    assert list(chosen) == activeft_reference(x, start)
