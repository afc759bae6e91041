"""Numerical helpers for plugins: device choice, faiss K-means and nearest neighbours.

faiss runs on the GPU when a GPU build (``pip install lbal-bench[gpu]``) sees a CUDA
device, else on the CPU. torch is imported only when a torch helper is called.
"""

from __future__ import annotations

import functools

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


def kmeans(x: np.ndarray, k: int, seed: int, niter: int = 20, nredo: int = 5) -> np.ndarray:
    """Centroids ``float32 [k, D]`` of faiss K-means trained on every point of ``x``."""
    x = _float32(x)
    km = faiss.Kmeans(
        x.shape[1], k, niter=niter, nredo=nredo, seed=seed, gpu=faiss_gpu(), verbose=False,
        min_points_per_centroid=1, max_points_per_centroid=-(-len(x) // k) + 1,
    )
    km.train(x)
    return km.centroids


def nearest(database: np.ndarray, queries: np.ndarray, k: int, metric: str = "l2") -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours: ``(scores, indices)`` of shape ``[len(queries), k]``.

    ``metric="l2"``: squared distances, ascending; ``metric="ip"``: inner products,
    descending (cosine similarity on L2-normalised features).
    """
    database = _float32(database)
    index = faiss.IndexFlatL2(database.shape[1]) if metric == "l2" else faiss.IndexFlatIP(database.shape[1])
    if faiss_gpu():
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(database)
    return index.search(_float32(queries), k)


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
