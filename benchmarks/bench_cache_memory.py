"""Memory of the feature cache at ImageNet scale: 1,281,167 × 512 float32 features (2.62 GB).

A ``features`` dataset file of that size (clustered synthetic features, written to a
temporary folder) goes through ``lbal-bench features`` (normalised into the cache, shard
by shard) and then ``lbal-bench run`` of one K-means cell over the cached features. Each
command runs in its own process, and its peak resident memory (``ru_maxrss``, which
counts the memory-mapped pages it touched) is compared with the size of the features:
the cache is read in place, so a run must hold the features once (≤ 1.1×, asserted).
The extraction's peak is reported too: it counts the pages of the user's file it read
(memory-mapped, reclaimable) plus one shard being normalised.

The K-means cell uses ``niter: 5``, k = 100 (time, not memory, grows with them).
Needs about 6 GB of free disk. Run: ``pytest benchmarks/bench_cache_memory.py
--benchmark-only -q -s`` (about 2 minutes on 2 cores); results in RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from conftest import clustered_features

N, DIM, CLASSES, BLOCK = 1_281_167, 512, 1000, 131_072
LIMIT = 1.1  # peak RSS / feature bytes
PEAK = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024); sys.exit(code)")


def peak_rss(*args: str, env: dict) -> int:
    """Peak resident bytes of ``lbal-bench ARGS`` run in its own process."""
    lbal = str(Path(sys.executable).parent / "lbal-bench")
    done = subprocess.run([sys.executable, "-c", PEAK, lbal, *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def write_features(folder: Path) -> dict[str, str]:
    train = np.lib.format.open_memmap(folder / "train.npy", mode="w+", dtype=np.float32, shape=(N, DIM))
    labels = np.empty(N, dtype=np.int64)
    for start in range(0, N, BLOCK):
        x, y = clustered_features(min(BLOCK, N - start), DIM, CLASSES, seed=0, draw=1 + start // BLOCK)
        train[start:start + len(x)], labels[start:start + len(x)] = x, y
    train.flush()
    del train
    np.save(folder / "train.labels.npy", labels)
    x, y = clustered_features(10_000, DIM, CLASSES, seed=0, draw=999)
    np.save(folder / "test.npy", x)
    np.save(folder / "test.labels.npy", y)
    return {"train": str(folder / "train.npy"), "test": str(folder / "test.npy")}


def test_cache_holds_imagenet_features_once(benchmark, tmp_path):
    files = write_features(tmp_path)
    env = {**os.environ, "LBAL_CACHE_DIR": str(tmp_path / "cache")}
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({
        "name": "cache_memory", "datasets": [{"name": "features", "options": files}],
        "backbones": [{"name": "pixels", "label": "synthetic512"}],
        "samplers": [{"name": "kmeans", "options": {"niter": 5}}], "budgets": [100], "seeds": [0],
        "evaluators": ["coverage"],
    }))
    size = N * DIM * 4
    extraction = peak_rss("features", "features", "pixels", "-d", f"train={files['train']}",
                          "-d", f"test={files['test']}", env=env)
    run = benchmark.pedantic(peak_rss, args=("run", str(suite), "--out", str(tmp_path / "results"),
                                             "--board", str(tmp_path / "board")),
                             kwargs={"env": env}, rounds=1, iterations=1)
    print(f"\nfeatures {size / 1e9:.2f} GB; peak RSS: extraction {extraction / 1e9:.2f} GB "
          f"({extraction / size:.2f}x), K-means cell {run / 1e9:.2f} GB ({run / size:.2f}x)")
    assert run <= LIMIT * size
