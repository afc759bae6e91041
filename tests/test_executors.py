"""Executors: a run on worker processes, a dask LocalCluster or submitit's local executor
writes the same records and selections as a run in this process, resumes like one, and
reports bad options and plugin faults in one line."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_suite

from lbal_bench.cells import build_grid, expand
from lbal_bench.features import FeatureCache
from lbal_bench.plugins import get_registry
from lbal_bench.runner import Chain, run_chain
from lbal_bench.store import ResultStore
from lbal_bench.suite import load_suite

# two chains (a single-batch and an iterative sampler, one seed): the fewest worker starts
CHAINS = dict(
    samplers=["kmeans", {"name": "coreset", "initial_pool": {"sampler": "random", "size": 10}}],
    seeds=[0],
    budgets=[10, 20, 30],
)


def outcome(results: Path) -> tuple[dict, dict]:
    """What must not depend on the executor: each record's config, metrics and selection
    (timings and provenance may), and every stored selection's indices."""
    records = {}
    for path in (results / "records").glob("*.json"):
        record = json.loads(path.read_text())
        records[path.name] = (record["config"], record["metrics"], record["selection"])
    selections = {}
    for path in (results / "selections").glob("*.npz"):
        with np.load(path) as data:
            selections[path.name] = (data["indices"].tolist(), int(data["labels_seen"]))
    return records, selections


@pytest.fixture
def local_run(cli, write_suite):
    """The suite's path and the outcome of an in-process run of it."""
    suite = write_suite(tiny_suite(**CHAINS))
    result = cli("run", str(suite), "--out", "local")
    assert result.exit_code == 0, result.output
    assert "tiny: computed 18 cells, 0 already done" in result.stdout
    return suite, outcome(Path("local"))


def run_with(cli, suite: Path, out: str, *options: str) -> str:
    result = cli("run", str(suite), "--out", out, *options)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.slow
def test_worker_processes_write_the_records_of_a_local_run(cli, local_run):
    suite, expected = local_run
    assert "tiny: computed 18 cells, 0 already done" in run_with(cli, suite, "pool", "--jobs", "2")
    assert outcome(Path("pool")) == expected


@pytest.mark.slow
def test_the_default_run_uses_a_worker_per_core_and_writes_the_records_of_jobs_2(cli, local_run, monkeypatch):
    suite, _ = local_run
    run_with(cli, suite, "pool", "--jobs", "2")
    monkeypatch.delenv("LBAL_JOBS")  # what a user who names no --jobs gets: one worker per core (2 here)
    run_with(cli, suite, "default")
    assert outcome(Path("default")) == outcome(Path("pool"))
    monkeypatch.setenv("LBAL_JOBS", "two")
    result = cli("run", str(suite), "--out", "bad")
    assert result.exit_code == 2
    assert result.output.strip() == "error: LBAL_JOBS='two': expected a whole number of at least 1"


@pytest.mark.slow
def test_dask_local_cluster_writes_the_records_of_a_local_run(cli, local_run):
    suite, expected = local_run
    assert "tiny: computed 18 cells, 0 already done" in run_with(cli, suite, "dask", "--executor", "dask", "--jobs", "2")
    assert outcome(Path("dask")) == expected


@pytest.mark.slow
def test_submitit_local_executor_writes_the_records_of_a_local_run(cli, local_run):
    suite, expected = local_run
    stdout = run_with(cli, suite, "slurm", "--executor", "submitit", "--executor-option", "cluster=local",
                      "--executor-option", "poll_seconds=0.2", "--slurm-partition", "ignored-locally")
    assert "tiny: computed 18 cells, 0 already done" in stdout
    assert outcome(Path("slurm")) == expected
    assert list(Path("submitit-logs").glob("*/*_result.pkl")), "submitit ran no job"


@pytest.mark.slow
def test_a_cluster_run_resumes_a_local_one(cli, write_suite, local_run):
    suite, expected = local_run
    assert "computed 12 cells" in run_with(cli, suite, "resumed", "--only", "budget=10", "--only", "budget=20")
    stdout = run_with(cli, suite, "resumed", "--executor", "dask", "--jobs", "2")
    assert "tiny: computed 6 cells, 12 already done" in stdout
    assert outcome(Path("resumed")) == expected


@pytest.mark.slow
def test_a_plugin_fault_in_a_worker_is_the_same_one_line_error(cli, use_plugins, write_suite):
    use_plugins("good")
    suite = write_suite(tiny_suite(samplers=["random", "bad_too_few"]))
    result = cli("run", str(suite), "--jobs", "2")
    assert result.exit_code == 2
    # each budget is its own chain in a worker: whichever fails first is reported
    assert result.stderr.strip() in {
        f"error: sampler 'bad_too_few' (lbal-misbehave) returned {b - 1} indices for a budget of {b}" for b in (10, 20, 30)}


@pytest.mark.parametrize(
    "options, message",
    [
        (["--executor", "lokal"], "error: unknown executor 'lokal' (did you mean 'local'?)"),
        (["--executor", "ray"], "error: unknown executor 'ray' (installed: dask, local, submitit)"),
        (["--scheduler", "tcp://h:8786"], "error: executor 'local': unknown option 'scheduler' (options: jobs)"),
        (["--jobs", "0"], "error: executor 'local': jobs must be an integer of at least 1, got 0"),
        (["--executor-option", "jobs"], "error: --executor-option 'jobs': expected KEY=VALUE"),
        (["--executor", "dask", "--scheduler", "tcp://h:8786", "--jobs", "2"],
         "error: executor 'dask': jobs sizes a LocalCluster: with a scheduler address the cluster's workers run the chains"),
        (["--executor", "submitit", "--executor-option", "bogus=1"],
         "error: executor 'submitit': Parameter 'bogus' need to be prefixed by an executor name."),
    ],
)
def test_bad_executor_options_are_one_line_errors(cli, write_suite, options, message):
    result = cli("run", str(write_suite(tiny_suite())), *options)
    assert result.exit_code == 2
    assert result.stderr.strip() == message


def test_a_worker_with_other_plugin_versions_refuses_the_chain(write_suite, tmp_path):
    cells = expand(build_grid(load_suite(write_suite(tiny_suite(**CHAINS))), get_registry()))[:3]
    chain = Chain(ResultStore(tmp_path / "out"), FeatureCache(), "tiny", cells, ["0" * 24] + [c.fingerprint for c in cells[1:]])
    result = run_chain(chain)
    assert str(result.error).startswith(f"cell {'0' * 24} has fingerprint {cells[0].fingerprint} on ")
    assert str(result.error).endswith(
        "install the same lbal-bench and plugin versions on every worker as on the submitting machine")
    assert not (tmp_path / "out" / "records").exists()


def test_a_pickled_cell_carries_names_and_options_not_data(write_suite):
    cells = expand(build_grid(load_suite(write_suite(tiny_suite(**CHAINS))), get_registry()))
    cells[0].dataset.obj.split("train")  # loaded data stays behind
    payload = pickle.dumps(cells)
    assert len(payload) < 4000
    copies = pickle.loads(payload)
    assert [c.fingerprint for c in copies] == [c.fingerprint for c in cells]
    assert copies[0].dataset.obj is not cells[0].dataset.obj  # rebuilt from the registry ...
    assert pickle.loads(pickle.dumps(cells[-1])).dataset.obj is copies[0].dataset.obj  # ... once per process


def test_features_are_opened_once_per_process(write_suite):
    grid = build_grid(load_suite(write_suite(tiny_suite())), get_registry())
    dataset, backbone = grid.datasets[0], grid.backbones[0]
    first = FeatureCache().get(dataset, backbone, "train")
    assert isinstance(first, np.memmap)
    assert FeatureCache().get(dataset, backbone, "train") is first
