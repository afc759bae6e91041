"""ProbCover at scale: a full selection against the former revision's, in one run.

``probcover`` finds δ and its ball graph with one pruned exact range search
(``lbal_bench.kit.neighbours.close_pairs``, cells: the pseudo-labels, bisector bounds
between them). The baseline is the former revision itself: its ``probcover`` (one
exhaustive faiss search per pseudo-label for each point's distance to the nearest point
of another label, then a ball graph pruned by triangle-inequality bounds on K-means
cells, the same greedy step) from a worktree named by ``LBAL_BASELINE``, run in a
subprocess with ``PYTHONPATH=$LBAL_BASELINE/benchmark:$LBAL_BASELINE/plugins`` on the
same features (a temporary ``.npy``), which times its selection and prints its picks
and δ as JSON. Without ``LBAL_BASELINE`` its rows are skipped.

Rows, on ``clustered_features`` (the ``synthetic`` dataset's generator: 100 clusters,
spread 0.5, L2-normalised, 512 dimensions; ``pool.num_classes = 100`` for the
pseudo-label K-means), the default options (``delta: auto-once``), 100 labels from
zero, each side paying for its K-means: 10,000 and 20,000 points (and 50,000 with
``LBAL_BENCH_LARGE=1``; the issue's goal there is at most 10 s on 2 cores), the former
revision's row first at each size. Each row records the wall and CPU (process) time of
its selection and the load average; the summary table has both δ and whether the picks
are identical (asserted once both rows of a size have run). The baseline row's
pytest-benchmark time includes its subprocess's start and imports; the table's is the
selection's own, timed inside the subprocess.

Run: ``git worktree add /tmp/probcover-baseline 37eb27e`` (the last revision before
this ``probcover``), then ``LBAL_BASELINE=/tmp/probcover-baseline LBAL_BENCH_LARGE=1
pytest benchmarks/bench_probcover.py --benchmark-only -q -s --benchmark-json
benchmarks/results/probcover.json`` (``-k 10000`` for the smallest size only); results
in RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import clustered_features

from lbal_bench import LabelOracle, Pool
from lbal_bench.plugins import get_registry

CLUSTERS = 100
BUDGET = 100
SIZES = [10_000, 20_000] + ([50_000] if os.environ.get("LBAL_BENCH_LARGE") else [])
FORMER, NOW = "former revision", "now"
BASELINE_HINT = ("set LBAL_BASELINE to a worktree of the former revision: git worktree add "
                 "/tmp/probcover-baseline 37eb27e && LBAL_BASELINE=/tmp/probcover-baseline pytest ...")
# Run with the former revision first on PYTHONPATH: its probcover on the features of argv[1]
# (argv[2] pseudo-label clusters, argv[3] picks from no labels); prints JSON.
FORMER_SELECTION = """
import json, sys, time
import numpy as np
import lbal_plugins.samplers.probcover as probcover
from lbal_bench import LabelOracle, Pool

x = np.load(sys.argv[1])
pool = Pool(x, np.empty(0, dtype=np.int64), int(sys.argv[2]), LabelOracle(np.zeros(len(x), dtype=np.int64), []))
wall, cpu = time.perf_counter(), time.process_time()
picks = probcover.ProbCover().select(pool, int(sys.argv[3]), np.random.default_rng(0))
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"picks": picks.tolist(), "delta": pool.info["delta"], "purity": pool.info["purity"],
                  "wall_s": wall, "cpu_s": cpu, "module": probcover.__file__}))
"""
_results: dict[tuple[int, str], dict] = {}


@pytest.fixture(scope="module", autouse=True)
def print_summary():
    yield
    lines = ["", "| pool | before: wall / CPU | now: wall / CPU | speed-up wall / CPU | picks | δ | load |",
             "|:--|--:|--:|--:|:--|--:|--:|"]
    for n in SIZES:
        former, now = _results.get((n, FORMER)), _results.get((n, NOW))
        if now is None:
            continue
        cells = [f"{n:,} × 512", "skipped", f"{now['wall_s']:.1f} s / {now['cpu_s']:.1f} s", "", "",
                 f"{now['delta']}", f"{now['load']:.1f}"]
        if former is not None:
            cells[1] = f"{former['wall_s']:.1f} s / {former['cpu_s']:.1f} s"
            cells[3] = f"{former['wall_s'] / now['wall_s']:.1f}× / {former['cpu_s'] / now['cpu_s']:.1f}×"
            cells[4] = "identical" if same(former, now) else "DIFFER"
            cells[5] += f" (before {former['delta']})"
            cells[6] = f"{former['load']:.1f}, {now['load']:.1f}"
        lines.append("| " + " | ".join(cells) + " |")
    if not any((n, FORMER) in _results for n in SIZES):
        lines.append(f"before: {BASELINE_HINT}")
    print("\n".join(lines))


def pool_of(x: np.ndarray) -> Pool:
    return Pool(x, np.empty(0, dtype=np.int64), CLUSTERS, LabelOracle(np.zeros(len(x), dtype=np.int64), []))


def same(former: dict, now: dict) -> bool:
    return former["picks"] == now["picks"] and former["delta"] == now["delta"]


def former_selection(baseline: Path, features: Path) -> dict:
    """The former revision's selection in a subprocess: picks, δ, wall and CPU seconds."""
    paths = [str(baseline / "benchmark"), str(baseline / "plugins"), os.environ.get("PYTHONPATH", "")]
    run = subprocess.run([sys.executable, "-c", FORMER_SELECTION, str(features), str(CLUSTERS), str(BUDGET)],
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert Path(result.pop("module")).resolve().is_relative_to(baseline), "the baseline ran this checkout's code"
    return result


@pytest.mark.parametrize("n, side", [(n, side) for n in SIZES for side in (FORMER, NOW)],
                         ids=lambda value: str(value).replace(" ", "-"))
def test_selection(benchmark, tmp_path, n, side):
    x = clustered_features(n, 512, CLUSTERS, spread=0.5, seed=0)[0]
    benchmark.group = f"ProbCover selection, {n:,} × 512, 100 labels from zero"
    if side == FORMER:
        if not os.environ.get("LBAL_BASELINE"):
            pytest.skip(BASELINE_HINT)
        np.save(tmp_path / "features.npy", x)
        baseline = Path(os.environ["LBAL_BASELINE"]).resolve()
        result = benchmark.pedantic(former_selection, args=(baseline, tmp_path / "features.npy"), rounds=1,
                                    iterations=1)
    else:
        sampler = get_registry().create("sampler", "probcover", {})
        pool = pool_of(x)
        cpu = time.process_time()
        picks = benchmark.pedantic(sampler.select, args=(pool, BUDGET, np.random.default_rng(0)), rounds=1,
                                   iterations=1)
        result = {"picks": picks.tolist(), "delta": pool.info["delta"], "purity": pool.info["purity"],
                  "wall_s": benchmark.stats.stats.mean, "cpu_s": time.process_time() - cpu}
    result["load"] = os.getloadavg()[0]
    _results[n, side] = result
    benchmark.extra_info.update(n=n, side=side, **{k: v for k, v in result.items() if k != "picks"})
    former, now = _results.get((n, FORMER)), _results.get((n, NOW))
    if former is not None and now is not None:
        benchmark.extra_info["picks_equal"] = same(former, now)
        assert same(former, now), f"δ {former['delta']} before, {now['delta']} now; picks equal: " \
                                  f"{former['picks'] == now['picks']}"
