"""Numerical helpers for plugins: device choice, faiss K-means and nearest neighbours.

faiss runs on the GPU when a GPU build (``pip install lbal-bench[gpu]``) sees a CUDA
device, else on the CPU. torch is imported only when a torch helper is called.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import faiss
import numpy as np


@functools.lru_cache(maxsize=1)
def faiss_gpu() -> bool:
    """Whether faiss can use a GPU here."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def torch_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _float32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


KMEANS_INITS = {"random": "RANDOM", "kmeans++": "KMEANS_PLUS_PLUS", "afkmc2": "AFK_MC2"}


def _kmeans_init_method(init: str) -> dict:
    """faiss ``Kmeans`` keyword for the ``init`` named; a ``ValueError`` if unknown or unsupported."""
    if init not in KMEANS_INITS:
        raise ValueError(f"init must be one of {', '.join(KMEANS_INITS)}, got {init!r}")
    if init == "random":  # faiss's default: also works on faiss builds before 1.14
        return {}
    method = getattr(faiss, f"ClusteringInitMethod_{KMEANS_INITS[init]}", None)
    if method is None:
        raise ValueError(f"init {init!r} needs faiss >= 1.14 (installed: {faiss.__version__}); use init: random")
    return {"init_method": method}


def kmeans(
    x: np.ndarray, k: int, seed: int, niter: int = 20, nredo: int = 5, init: str = "random",
    max_points_per_centroid: int | None = None,
) -> np.ndarray:
    """Centroids ``float32 [k, D]`` of faiss K-means on ``x``.

    ``niter`` Lloyd iterations at most (faiss >= 1.14 stops once the objective no longer
    changes), ``nredo`` runs keeping the lowest objective. ``init`` picks the starting
    centroids: ``"random"`` (k distinct points), ``"kmeans++"`` (D² sampling; k passes over
    ``x``) or ``"afkmc2"`` (its Markov-chain approximation, Bachem et al., NeurIPS 2016:
    one pass plus O(k² · D) work, on one CPU thread). ``max_points_per_centroid``: train
    on a random subsample of ``k * max_points_per_centroid`` points when ``x`` has more;
    ``None`` trains on every point.
    """
    x = _float32(x)
    if max_points_per_centroid is None:
        max_points_per_centroid = -(-len(x) // k) + 1
    km = faiss.Kmeans(
        x.shape[1], k, niter=niter, nredo=nredo, seed=seed, gpu=faiss_gpu(), verbose=False,
        min_points_per_centroid=1, max_points_per_centroid=max_points_per_centroid,
        **_kmeans_init_method(init),
    )
    km.train(x)
    return km.centroids


def _is_count(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class KMeansOptions:
    """The K-means settings of the K-means samplers, validated when built.

    A sampler subclasses it to take these as its options (with their defaults, so they
    enter the cell fingerprint) and calls ``self.centroids``. The defaults, one AFK-MC²
    seeded run of at most 20 iterations on every point, reach a lower mean objective
    than the paper's five random restarts about 4× faster (benchmarks/RESULTS.md,
    "K-means selection"); ``nredo=5, init="random"`` is the paper's configuration.
    """

    niter: int = 20
    nredo: int = 1
    init: str = "afkmc2"
    max_points_per_centroid: int | None = None

    def __post_init__(self):
        for name in ("niter", "nredo"):
            if not _is_count(getattr(self, name)):
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if self.max_points_per_centroid is not None and not _is_count(self.max_points_per_centroid):
            raise ValueError(
                f"max_points_per_centroid must be an integer >= 1 or null, got {self.max_points_per_centroid!r}"
            )
        _kmeans_init_method(self.init)

    def centroids(self, x: np.ndarray, k: int, seed: int) -> np.ndarray:
        """``kmeans(x, k, seed)`` with these settings."""
        return kmeans(
            x, k, seed, niter=self.niter, nredo=self.nredo, init=self.init,
            max_points_per_centroid=self.max_points_per_centroid,
        )


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


def kmeans_labels(x: np.ndarray, k: int, seed: int, niter: int = 20, nredo: int = 5) -> np.ndarray:
    """Cluster id (int64 ``[N]``) of every point of ``x``: its nearest centroid of ``kmeans``.

    Ids run over ``0..k-1``; a cluster may be empty (e.g. when ``x`` has duplicate rows).
    """
    centroids = kmeans(x, k, seed=seed, niter=niter, nredo=nredo)
    return nearest(centroids, x, 1)[1][:, 0].astype(np.int64)


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


def radius_graph(x: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The ball graph of ``x``: ``j`` is a neighbour of ``i`` iff ``||x_i - x_j|| < radius``.

    Returned as CSR ``(indptr int64 [N+1], indices int64 [E])``: the neighbours of ``i``
    are ``indices[indptr[i]:indptr[i+1]]``, ascending. Every point is its own neighbour and
    the graph is exactly symmetric (each pair is decided once, from its upper-triangle
    distance). Built block by block with ``sqdist_blocks``, so memory is the edge list.
    """
    import torch

    n = len(x)
    sources, targets = [np.arange(n)], [np.arange(n)]
    for start, d2 in sqdist_blocks(x, x):
        rows = torch.arange(start, start + len(d2), device=d2.device)[:, None]
        cols = torch.arange(n, device=d2.device)[None, :]
        i, j = ((d2 < radius * radius) & (cols > rows)).nonzero().T.cpu().numpy()
        sources += [i + start, j]
        targets += [j, i + start]
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    order = np.lexsort((targets, sources))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(sources, minlength=n))])
    return indptr, targets[order]
