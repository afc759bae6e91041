"""The README's command end to end: ``lbal-bench run suites/digits.yaml``, no flags.

Each row is a fresh ``lbal-bench`` process with empty results, board and feature-cache
directories (what a new user runs after ``pip install``), timed from outside (wall time,
CPU time of the process and its workers) with the load average before and after:

- ``baseline``: the code of an older commit, from a worktree named by ``LBAL_BASELINE``
  (``git worktree add /tmp/baseline 3c7008d``), installed without dependencies into a
  folder of its own that goes first on ``PYTHONPATH`` (its plugins and entry points, the
  installed dependencies shared). Without it the baseline rows are skipped.
- ``this checkout``: the working tree.
- each of the two ``beside a CPU-bound process``: the same command while one other
  process spins on a core (``python -c "while True: pass"``), started just before it and
  stopped after it. A row that runs past ``LBAL_BENCH_LIMIT`` seconds (default 1,200) is
  stopped and reported as more than the limit, with the cells it finished.
- ``this checkout, --jobs N`` (N = the default's worker count): its records must equal the
  no-flag run's, metrics and selected indices (the default only chooses the workers).

Run: ``LBAL_BASELINE=/tmp/baseline pytest benchmarks/bench_suite.py --benchmark-only -q -s``
(results in RESULTS.md, "Default suite"). The rows alternate between the two versions so
that a change in the machine's load affects both. ``test_vaal_selection`` times one VAAL
selection of each version.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = "suites/digits.yaml"
LIMIT = float(os.environ.get("LBAL_BENCH_LIMIT", 1200))
LBAL = str(Path(sys.executable).with_name("lbal-bench"))
_rows: list[dict] = []


def install(checkout: Path, target: Path) -> Path:
    """``checkout`` installed (no dependencies, not editable) into the folder ``target``."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(target), str(checkout)], check=True)
    return target


def lbal_run(workdir: Path, code: Path, *flags: str, beside_busy: bool = False, site: Path | None = None) -> dict:
    """Run the default suite with the code of checkout ``code`` (installed in ``site``
    unless it is this one) in a fresh ``workdir``; the row: wall and CPU seconds, load
    averages, where the time went."""
    workdir.mkdir(parents=True)
    env = {**os.environ, "LBAL_CACHE_DIR": str(workdir / "cache")}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if beside_busy else None
    load_before, before = os.getloadavg()[0], resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.Popen([LBAL, "run", str(code / SUITE), "--out", str(workdir / "results"), "--board",
                            str(workdir / "board"), *flags], cwd=workdir, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, finished = run.communicate(timeout=LIMIT)[0], True
    except subprocess.TimeoutExpired:  # stop it and its workers
        os.killpg(run.pid, signal.SIGKILL)
        output, finished = run.communicate()[0], False
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if busy:
        busy.kill()
        busy.wait()
    assert not finished or run.returncode == 0, output[-2000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cells = len(list((workdir / "results" / "records").glob("**/*.json")))
    return {"wall": wall, "finished": finished, "cpu": cpu, "load": (load_before, os.getloadavg()[0]),
            "cells": cells, **time_spent(workdir / "results")}


def time_spent(results: Path) -> dict:
    """Selection seconds of VAAL (per selection) and evaluation seconds of ``linear`` (per
    cell), from the records' timings."""
    vaal, linear, seen = [], [], set()
    for path in (results / "records").glob("**/*.json"):
        record = json.loads(path.read_text())
        if record["config"]["sampler"]["name"] == "vaal" and record["selection"]["file"] not in seen:
            seen.add(record["selection"]["file"])
            if record["config"]["selection"]["after"] is not None:  # not the random initial pool
                vaal.append(record["timings"]["selection_s"])
        if record["config"]["evaluator"]["name"] == "linear":
            linear.append(record["timings"]["evaluation_s"])
    return {"vaal_per_selection": float(np.mean(vaal)) if vaal else None,
            "linear_per_cell": float(np.mean(linear)) if linear else None, "vaal_selections": len(vaal),
            "linear_cells": len(linear)}


def records(results: Path) -> dict:
    """fingerprint -> (metrics, selected indices) of every record under ``results``."""
    out = {}
    for path in (results / "records").glob("**/*.json"):
        record = json.loads(path.read_text())
        with np.load(results / record["selection"]["file"]) as selection:
            out[record["fingerprint"]] = (record["metrics"], selection["indices"].tolist())
    return out


def test_default_suite(benchmark, tmp_path):
    from lbal_bench.executors.local import machine_jobs

    baseline = Path(os.environ["LBAL_BASELINE"]).resolve() if os.environ.get("LBAL_BASELINE") else None
    site = install(baseline, tmp_path / "baseline-site") if baseline else None
    plan = [("this checkout", ROOT, False), ("baseline", baseline, False),
            ("this checkout, beside a CPU-bound process", ROOT, True),
            ("baseline, beside a CPU-bound process", baseline, True)]
    rows = {}
    for number, (name, code, busy) in enumerate(plan):
        if code is not None:
            rows[name] = lbal_run(tmp_path / str(number), code, beside_busy=busy, site=None if code == ROOT else site)
    jobs = machine_jobs()
    explicit_row = lbal_run(tmp_path / "explicit", ROOT, "--jobs", str(jobs))
    rows[f"this checkout, --jobs {jobs}"] = explicit_row
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # the timings are the rows'
    reference = {busy: rows.get(f"baseline{busy}") for busy in ("", ", beside a CPU-bound process")}
    for name, row in rows.items():
        base = reference[", beside a CPU-bound process" if "beside" in name else ""]
        ratio = f"{base['wall'] / row['wall']:.2f}x" if base and name.startswith("this") else ""
        if base and not base["finished"] and ratio:
            ratio = "> " + ratio
        _rows.append({"row": name, **row, "speed-up": ratio})
    benchmark.extra_info["rows"] = _rows
    default, explicit = records(tmp_path / "0" / "results"), records(tmp_path / "explicit" / "results")
    common = set(default) & set(explicit)  # a plugin edited between the rows changes its fingerprints
    _rows.append({"row": f"records of the no-flag run and of --jobs {jobs}", "text": f"{len(common)} cells in both, "
                  f"{sum(default[k] != explicit[k] for k in common)} differ (metrics or selected indices)"})
    assert len(common) > 0.9 * len(default) and all(default[k] == explicit[k] for k in common)


def test_vaal_selection(benchmark):
    """One VAAL selection on the digits pool (1,347 × 64, 20 labeled, 30 picks), one
    thread: the torch version of ``LBAL_BASELINE`` (batch 64 + 64, its default) against
    the numpy one at batch 64 + 64 (like for like) and at its default 128 + 128."""
    import importlib.util

    from conftest import one_thread

    from lbal_bench import LabelOracle, Pool
    from lbal_bench.features import l2_normalise
    from lbal_bench.plugins import get_registry
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x, y = l2_normalise(x[:1347].astype(np.float32)), y[:1347]
    labeled = np.arange(0, 1347, 67)[:20]
    pool = Pool(x, labeled, 10, LabelOracle(y, labeled))
    samplers = {"numpy, batch 64 + 64": get_registry().create("sampler", "vaal", {"batch_size": 64}),
                "numpy, batch 128 + 128 (default)": get_registry().create("sampler", "vaal", {})}
    if os.environ.get("LBAL_BASELINE"):
        spec = importlib.util.spec_from_file_location(
            "baseline_vaal", Path(os.environ["LBAL_BASELINE"]) / "plugins/lbal_plugins/samplers/vaal.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        samplers = {"torch (baseline), batch 64 + 64": module.VAALSampler(), **samplers}
    times = {}
    with one_thread():
        for name, sampler in samplers.items():
            sampler.select(pool, 30, np.random.default_rng(0)) if name.startswith("torch") else None  # warm-up
            start = time.perf_counter()
            sampler.select(pool, 30, np.random.default_rng(1))
            times[name] = time.perf_counter() - start
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    first = next(iter(times.values()))
    for name, value in times.items():
        _rows.append({"row": f"VAAL selection, {name}", "text": f"{value:.2f} s ({first / value:.2f}x the first)"})


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    for row in _rows:
        if "text" in row:
            print(f"\n{row['row']}: {row['text']}")
            continue
        wall = f"{row['wall']:.1f} s" if row["finished"] else (
            f"> {row['wall']:.0f} s (stopped after {row['cells']} cells)")
        vaal = f"{row['vaal_per_selection']:.2f} s" if row["vaal_per_selection"] else "-"
        linear = f"{1000 * row['linear_per_cell']:.0f} ms" if row["linear_per_cell"] else "-"
        print(f"\n{row['row']}: wall {wall}, CPU {row['cpu']:.1f} s, load {row['load'][0]:.1f} -> "
              f"{row['load'][1]:.1f}, VAAL {vaal} per selection ({row['vaal_selections']}), linear {linear} "
              f"per cell ({row['linear_cells']}) {row['speed-up']}")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "--benchmark-only", "-q", "-s", *sys.argv[1:]]))
