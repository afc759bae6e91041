"""Numerical helpers for plugins: device choice, K-means (one implementation for every
sampler that clusters) and nearest neighbours (exact ball pairs and graphs: ``neighbours``).

faiss runs on the GPU when a GPU build (``pip install lbal-bench[gpu]``) sees a CUDA
device, else on the CPU. torch is imported only when a torch helper is called.

Where our K-means differs from scikit-learn's ``KMeans`` (the reference for its seeding
and quality): the greedy k-means++ seeding is scikit-learn's, but run on a random
subsample of 128 points per centre (``KMeansOptions.seeding_points_per_centroid``), and
Lloyd (faiss, on every point) stops once an iteration lowers the objective by less than
a relative 1e-4 (``tol``; scikit-learn bounds the centre shift instead) or after 20
iterations (scikit-learn: 300); benchmarks/RESULTS.md, "K-means: ours, scikit-learn,
original", measures both against scikit-learn.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Annotated

import faiss
import numpy as np
from annotated_types import Ge


@functools.lru_cache(maxsize=1)
def faiss_gpu() -> bool:
    """Whether faiss can use a GPU here."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def torch_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the block (restored after). The products of a
    linear head, VAAL's MLPs or a block of the close-pairs search are too small to gain
    from more, and on a busy machine BLAS threads that spin-wait for each other ran a
    VAAL selection 50 times slower; the result then also does not depend on the
    machine's thread count."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def _float32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


FAISS_INITS = {"random": "RANDOM", "kmeans++": "KMEANS_PLUS_PLUS", "afkmc2": "AFK_MC2"}
KMEANS_INITS = ("greedy", *FAISS_INITS)
KMEANS_BACKENDS = ("faiss", "sklearn")
FAISS_DEFAULT_SEED = 1234  # faiss.Kmeans's seed when none is given, as in the paper's original code
GREEDY_TOL = 1e-4  # Lloyd's relative tolerance after greedy seeding (KMeansOptions.tol), scikit-learn's tol


def _kmeans_init_method(init: str) -> dict:
    """faiss ``Kmeans`` keyword for the ``init`` named; a ``ValueError`` if unknown."""
    if init not in KMEANS_INITS:
        raise ValueError(f"init must be one of {', '.join(KMEANS_INITS)}, got {init!r}")
    if init in ("random", "greedy"):  # greedy: our centres are passed in; random: faiss's default
        return {}
    return {"init_method": getattr(faiss, f"ClusteringInitMethod_{FAISS_INITS[init]}")}


def greedy_kmeanspp(x: np.ndarray, k: int, seed: int, candidates: int | None = None) -> np.ndarray:
    """Indices (int64 ``[k]``) of ``x`` chosen as initial centres by greedy k-means++.

    Arthur and Vassilvitskii's D² sampling, greedy as scikit-learn's ``kmeans_plusplus``:
    each centre after the first (uniform) is the best of ``candidates`` D²-sampled points
    (default ``2 + int(log k)``, scikit-learn's), the one that lowers the potential (sum of
    squared distances to the nearest centre) most. Each step costs one ``N × candidates``
    distance product, as scikit-learn's; it skips the points that cannot move: a point
    can only move to a candidate ``c`` when its centre ``m`` has ``||c - m|| < 2 ||x - m||``
    (triangle inequality; Raff, "Exact Acceleration of K-Means++ and K-Means||", IJCAI
    2021), which prunes once the centres are finer than the data's clusters (k well above
    the number of natural clusters), not before. Memory is ``O(N + k · candidates)``,
    never ``N × k``; torch kernels on ``torch_device()`` (the GPU when torch sees one).
    """
    import torch

    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"cannot seed {k} centres from {n} points")
    candidates = candidates or 2 + int(np.log(k))
    device = torch_device()
    rng = np.random.default_rng(seed)
    points = torch.tensor(_float32(x), device=device)  # a copy: x may be a read-only memmap
    norms = (points * points).sum(dim=1)

    def sqdist(rows: torch.Tensor | None, cols: torch.Tensor) -> torch.Tensor:
        """Squared distances ``[rows, cols]``; ``rows=None``: every point (no copy)."""
        block, block_norms = (points, norms) if rows is None else (points[rows], norms[rows])
        return (block_norms[:, None] + norms[cols][None, :] - 2 * block @ points[cols].T).clamp_(min=0)

    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = rng.integers(n)
    closest = sqdist(None, torch.as_tensor(chosen[:1], device=device))[:, 0]
    owner = torch.zeros(n, dtype=torch.int64, device=device)  # position in `chosen` of each point's centre
    radius = torch.zeros(k, device=device)  # an upper bound of each centre's largest member distance
    radius[0] = closest.max().sqrt()
    centres = torch.as_tensor(chosen, device=device)
    for step in range(1, k):
        cumulative = torch.cumsum(closest, 0, dtype=torch.float64)
        total = float(cumulative[-1])
        if total <= 0:  # every point sits on a centre: take unused points in order
            chosen[step:] = np.setdiff1d(np.arange(n), chosen[:step])[:k - step]
            break
        draws = torch.as_tensor(rng.random(candidates) * total, device=device, dtype=torch.float64)
        cand = torch.searchsorted(cumulative, draws).clamp_(max=n - 1)
        relevant = torch.zeros(k, dtype=torch.bool, device=device)
        relevant[:step] = (sqdist(cand, centres[:step]).sqrt() < 2 * radius[None, :step]).any(dim=0)
        rows = torch.nonzero(relevant[owner]).flatten()
        if 4 * len(rows) > n:  # many points may move: read all in place rather than copy them
            rows = None
        block, block_norms = (points, norms) if rows is None else (points[rows], norms[rows])
        current = closest if rows is None else closest[rows]
        # current - d2 for every row and candidate, in one pass over the rows; the potential a
        # candidate removes is the sum of its positive part
        slack = torch.addmm((current - block_norms)[:, None] - norms[cand][None, :], block, points[cand].T, alpha=2)
        best = int(torch.argmax(slack.clamp(min=0).sum(dim=0)))
        chosen[step] = int(cand[best])
        centres[step] = cand[best]
        d2 = (current - slack[:, best]).clamp_(min=0)
        moved = d2 < current
        updated = torch.minimum(current, d2)
        if rows is None:
            closest = updated
            owner[moved] = step
        else:
            closest[rows] = updated
            owner[rows[moved]] = step
        radius[relevant] = 0
        radius[step] = 0
        radius.scatter_reduce_(0, owner if rows is None else owner[rows], updated.sqrt(), reduce="amax")
    return chosen


def _sklearn_labels_and_centres(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """TypiClust's reference clustering: scikit-learn ``KMeans`` (its defaults) for k <= 50,
    ``MiniBatchKMeans(batch_size=5000)`` above."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    model = KMeans(n_clusters=k, random_state=seed) if k <= 50 else \
        MiniBatchKMeans(n_clusters=k, batch_size=5000, random_state=seed)
    model.fit(x)
    return model.labels_.astype(np.int64), model.cluster_centers_.astype(np.float32)


@dataclass(frozen=True)
class KMeansOptions:
    """The K-means settings of every sampler that clusters; their types and ranges are
    declared (checked by ``registry.build``), ``init`` and ``backend`` checked when built.

    A sampler subclasses it to take these as its options (with their defaults, so they
    enter the cell fingerprint) and calls ``self.centroids`` or ``self.cluster_labels``.

    - ``init``: ``"random"`` (k distinct points, faiss's default, the paper's original),
      ``"greedy"`` (greedy k-means++, ``greedy_kmeanspp``: scikit-learn's seeding),
      ``"kmeans++"`` / ``"afkmc2"`` (faiss's own seedings).
    - ``nredo``: runs, keeping the lowest objective (each run seeds anew).
    - ``niter``: Lloyd iterations at most per run (faiss stops once the objective
      stops changing).
    - ``fixed_seed``: every run uses faiss's default seed 1234 whatever the cell's seed,
      as the paper's original code (which never seeded faiss): all seeds then give one
      selection, so the std over seeds is that of the evaluation only.
    - ``seeding_points_per_centroid``: ``greedy`` seeds on a random subsample of
      ``k * seeding_points_per_centroid`` points when there are more (Lloyd then runs on
      every point); ``None``: seed on every point.
    - ``tol``: Lloyd stops once an iteration lowers the objective by less than this
      fraction of it (faiss's ``early_stop_threshold``); ``None``: ``1e-4`` after greedy
      seeding, ``0`` (faiss's own rule: stop once the objective no longer changes) after
      faiss's seedings, so ``{init: random, nredo: 5}`` runs as before.
    - ``max_points_per_centroid``: seed (``greedy``, at most ``seeding_points_per_centroid``
      per centre) and train on random subsamples of ``k * max_points_per_centroid``
      points when there are more; ``None``: every point.
    - ``backend``: ``"faiss"``, or ``"sklearn"`` (TypiClust's reference clustering:
      scikit-learn ``KMeans`` with its defaults for k <= 50, ``MiniBatchKMeans`` with
      batch 5000 above; the other options are then scikit-learn's own).

    Defaults: one greedy k-means++ run, seeded on 128 points per centre, then Lloyd on
    every point to a relative tolerance of 1e-4, at most 20 iterations. Over 30 seeds at
    k = the number of classes it selects at least as well as the paper's
    ``init="random", nredo=5`` (1-NN and coverage, digits and an imbalanced synthetic set:
    docs/protocol.md, "Protocol choices", from benchmarks/bench_protocol.py) and reaches
    scikit-learn's inertia, 3.5-6.8× faster at 50k-128k points (1.7-3.3× at 20k, where
    the seeding is most of both; benchmarks/RESULTS.md, from benchmarks/bench_kmeans.py);
    ``{init: random, nredo: 5}`` is the paper's configuration, ``fixed_seed: true`` added
    the released code's.
    """

    init: str = "greedy"
    nredo: Annotated[int, Ge(1)] = 1
    niter: Annotated[int, Ge(1)] = 20
    fixed_seed: bool = False
    seeding_points_per_centroid: Annotated[int, Ge(1)] | None = 128
    tol: Annotated[float, Ge(0)] | None = None
    max_points_per_centroid: Annotated[int, Ge(1)] | None = None
    backend: str = "faiss"

    def __post_init__(self):
        if self.backend not in KMEANS_BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(KMEANS_BACKENDS)}, got {self.backend!r}")
        _kmeans_init_method(self.init)

    def kmeans_options(self) -> KMeansOptions:
        """These settings alone (a sampler subclass's other options dropped)."""
        return KMeansOptions(**{f.name: getattr(self, f.name) for f in fields(KMeansOptions)})

    def centroids(self, x: np.ndarray, k: int, seed: int) -> np.ndarray:
        """Centroids ``float32 [k, D]`` of K-means on ``x`` with these settings."""
        return self._fit(x, k, seed)[1]

    def cluster_labels(self, x: np.ndarray, k: int, seed: int) -> np.ndarray:
        """Cluster id (int64 ``[N]``, ``0..k-1``) of every point: its nearest centroid.

        A cluster may be empty (e.g. when ``x`` has duplicate rows)."""
        labels, centres = self._fit(x, k, seed)
        return labels if labels is not None else nearest(centres, x, 1)[1][:, 0].astype(np.int64)

    def _fit(self, x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray | None, np.ndarray]:
        seed = FAISS_DEFAULT_SEED if self.fixed_seed else int(seed)
        x = _float32(x)
        if self.backend == "sklearn":
            return _sklearn_labels_and_centres(x, k, seed)
        tol = self.tol if self.tol is not None else GREEDY_TOL if self.init == "greedy" else 0.0
        if self.init != "greedy":
            return None, kmeans(x, k, seed, niter=self.niter, nredo=self.nredo, init=self.init,
                                max_points_per_centroid=self.max_points_per_centroid, tol=tol)
        per_centre = min((m for m in (self.seeding_points_per_centroid, self.max_points_per_centroid)
                          if m is not None), default=None)
        best, best_objective = None, np.inf
        for run in range(self.nredo):
            rng = np.random.default_rng([seed, run])
            run_seed = int(rng.integers(2**31 - 1))
            sample = x
            if per_centre is not None and 0 < k * per_centre < len(x):  # k < 1: greedy_kmeanspp says so
                sample = x[np.sort(rng.choice(len(x), k * per_centre, replace=False))]
            start = sample[greedy_kmeanspp(sample, k, run_seed)]
            centres, objective = kmeans(x, k, run_seed, niter=self.niter, nredo=1, init="greedy",
                                        max_points_per_centroid=self.max_points_per_centroid,
                                        start=start, objective=True, tol=tol)
            if objective < best_objective:
                best, best_objective = centres, objective
        return None, best


def kmeans(
    x: np.ndarray, k: int, seed: int, niter: int = 20, nredo: int = 5, init: str = "random",
    max_points_per_centroid: int | None = None, start: np.ndarray | None = None, objective: bool = False,
    tol: float = 0.0,
):
    """Centroids ``float32 [k, D]`` of faiss K-means on ``x`` (``(centroids, objective)``
    with ``objective=True``).

    ``niter`` Lloyd iterations at most, fewer once an iteration lowers the objective by
    less than the fraction ``tol`` of it (``0``: once it no longer changes),
    ``nredo`` runs keeping the lowest objective. ``init`` picks faiss's starting
    centroids (``KMeansOptions``); ``start`` passes them instead (``[k, D]``, one run).
    ``max_points_per_centroid``: train on a random subsample of
    ``k * max_points_per_centroid`` points when ``x`` has more; ``None``: every point.
    """
    x = _float32(x)
    if max_points_per_centroid is None:
        max_points_per_centroid = -(-len(x) // k) + 1
    km = faiss.Kmeans(
        x.shape[1], k, niter=niter, nredo=nredo, seed=seed, gpu=faiss_gpu(), verbose=False,
        min_points_per_centroid=1, max_points_per_centroid=max_points_per_centroid,
        early_stop_threshold=tol, **_kmeans_init_method(init),
    )
    final = km.train(x, init_centroids=None if start is None else _float32(start))
    return (km.centroids, float(final)) if objective else km.centroids


def nearest(database: np.ndarray, queries: np.ndarray, k: int, metric: str = "l2") -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours: ``(scores, indices)`` of shape ``[len(queries), k]``.

    ``metric="l2"``: squared distances, ascending; ``metric="ip"``: inner products,
    descending (cosine similarity on L2-normalised features). On the CPU the search reads
    ``database`` in place (e.g. a memory-mapped feature cache) instead of copying it into
    an index.
    """
    if faiss_gpu():
        return _flat_index(database, metric).search(_float32(queries), k)
    kind = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    return faiss.knn(_float32(queries), _float32(database), k, metric=kind)


def _flat_index(database: np.ndarray, metric: str = "l2"):
    """An exact faiss index holding ``database`` (on the GPU when faiss can use one)."""
    database = _float32(database)
    index = faiss.IndexFlatL2(database.shape[1]) if metric == "l2" else faiss.IndexFlatIP(database.shape[1])
    if faiss_gpu():
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(database)
    return index


def nearest_unique(points: np.ndarray, centres: np.ndarray, taken: np.ndarray | None = None) -> np.ndarray:
    """For each centre, the index of the nearest point that no other centre took.

    Ties are settled by distance: a point wanted by several centres goes to the closest
    one, and the others move on to their next-nearest free point. Points in ``taken``
    are never returned. Always returns ``len(centres)`` unique indices, which needs
    ``len(points) - len(taken) >= len(centres)``.
    """
    n, k = len(points), len(centres)
    free = np.ones(n, dtype=bool)
    if taken is not None:
        free[taken] = False
    if free.sum() < k:
        raise ValueError(f"{k} centres but only {int(free.sum())} free points")
    chosen = np.full(k, -1, dtype=np.int64)
    depth = min(n, 8)
    while (open_ := np.flatnonzero(chosen < 0)).size:
        dist, idx = nearest(points, centres[open_], depth)
        for column in range(depth):
            waiting = chosen[open_] < 0
            cand, d = idx[waiting, column], dist[waiting, column]
            owners = open_[waiting]
            ok = (cand >= 0) & free[np.maximum(cand, 0)]
            cand, d, owners = cand[ok], d[ok], owners[ok]
            order = np.lexsort((owners, d))
            _, first = np.unique(cand[order], return_index=True)
            winners = order[first]
            chosen[owners[winners]] = cand[winners]
            free[cand[winners]] = False
            if (chosen >= 0).all():
                break
        depth = min(n, depth * 4)
    return chosen


def mean_knn_sqdist(x: np.ndarray, k: int, include_self: bool = False, block: int = 16384) -> np.ndarray:
    """Mean squared L2 distance (float64 ``[N]``) from each row of ``x`` to its k nearest rows.

    The inverse is the k-NN density used by TypiClust ("typicality") and USL.
    ``include_self=False`` leaves each point out of its own neighbours (by index, so an
    identical row still counts, at distance 0) and needs ``k < N``; ``include_self=True``
    counts the point itself as its first neighbour (distance 0) and needs ``k <= N``.
    Exact faiss search, in blocks of ``block`` queries so memory stays ``O(block * k)``.
    """
    n = len(x)
    if not 1 <= k <= n - (not include_self):
        raise ValueError(f"k={k} nearest neighbours need more than {n} points")
    x = _float32(x)
    index = _flat_index(x)
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, block):
        queries = x[start:start + block]
        if include_self:
            out[start:start + len(queries)] = index.search(queries, k)[0].mean(axis=1)
            continue
        dist, idx = index.search(queries, k + 1)
        keep = idx != np.arange(start, start + len(queries))[:, None]
        keep[keep.all(axis=1), -1] = False  # self tied at distance 0 and fell off: drop the farthest
        out[start:start + len(queries)] = dist[keep].reshape(len(queries), k).mean(axis=1)
    return out


def sqdist_blocks(x: np.ndarray, y: np.ndarray, max_elements: int = 1 << 25):
    """Yield ``(start, d2)``: squared L2 distances from ``x[start:start + len(d2)]`` to all of ``y``.

    ``d2`` is a float32 torch tensor ``[rows, len(y)]`` on ``torch_device()``, with rows
    chosen so a block holds about ``max_elements`` entries: pairwise work over a large pool
    without ever materialising the ``len(x) x len(y)`` matrix. ``y`` is copied to the
    device once; ``x`` (e.g. a read-only memmap) is read block by block.
    """
    import torch

    device = torch_device()
    ty = torch.tensor(_float32(y), device=device)
    y_norms = (ty * ty).sum(dim=1)
    rows = max(1, max_elements // max(1, len(y)))
    for start in range(0, len(x), rows):
        tx = torch.tensor(_float32(x[start:start + rows]), device=device)
        d2 = (tx * tx).sum(dim=1)[:, None] + y_norms[None, :] - 2 * tx @ ty.T
        yield start, d2.clamp_(min=0)
