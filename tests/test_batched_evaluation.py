"""Batched evaluation: the runner evaluates the cells that share a dataset, backbone,
budget and evaluator in one ``evaluate_batch`` call (``linear`` trains their heads as one
stacked problem), and every record equals the one cell-by-cell evaluation writes, apart
from its time; a run killed inside a batch resumes; a bad batch answer is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import lbal_process as lp
from conftest import tiny_suite
from lbal_bench.cells import build_grid, expand
from lbal_bench.evaluation import batches
from lbal_bench.features import FeatureCache
from lbal_bench.plugin_handle import build_plugin
from lbal_bench.plugins import get_registry
from lbal_bench.runner import Runner
from lbal_bench.store import ResultStore
from lbal_bench.suite import load_suite
from lbal_plugins.evaluators.linear import Linear

LINEAR = {"name": "linear", "options": {"epochs": 3, "batch_size": 4}}
# 3 samplers (one iterative, from a random initial pool) x 2 seeds x 2 budgets x (linear
# with two protocols, knn): a batch of 6 linear cells per (budget, protocol)
SUITE = tiny_suite(
    samplers=["random", "kmeans", {"name": "coreset", "initial_pool": {"sampler": "random", "size": 10}}],
    budgets=[10, 20], seeds=[0, 1],
    evaluators=[LINEAR, {"name": "linear", "label": "linear-2", "options": {"epochs": 2}}, "knn"],
)
CELLS = 3 * 2 * 2 * 3


def records(results: Path, *, keep_threads: bool = True) -> dict[str, dict]:
    """Every record without what names a time or a revision (``timings``,
    ``provenance.created``, ``provenance.git_revision``: others commit in this working
    tree meanwhile) and the checksum over them."""
    found = {}
    for path in sorted((results / "records").glob("*.json")):
        record = json.loads(path.read_text())
        del record["timings"], record["provenance"]["created"], record["provenance"]["git_revision"]
        del record["checksum"]
        if not keep_threads:
            del record["provenance"]["threads"]
        found[path.name] = record
    return found


@pytest.fixture
def batch_calls(monkeypatch):
    """The number of selections of every ``Linear.evaluate_batch`` call in this process."""
    calls: list[int] = []
    batch = Linear.evaluate_batch

    def counted(self, train_xs, *args):
        calls.append(len(train_xs))
        return batch(self, train_xs, *args)

    monkeypatch.setattr(Linear, "evaluate_batch", counted)
    return calls


def test_batched_records_equal_cell_by_cell_ones(cli, write_suite, batch_calls, monkeypatch):
    suite = write_suite(SUITE)
    result = cli("run", str(suite), "--out", "batched")
    assert result.exit_code == 0, result.output
    assert f"computed {CELLS} cells, 0 already done" in result.stdout
    assert batch_calls == [6, 6, 6, 6]  # per budget and protocol: 3 samplers x 2 seeds

    monkeypatch.delattr(Linear, "evaluate_batch")  # the evaluator as a third party's: cell by cell
    result = cli("run", str(suite), "--out", "alone")
    assert result.exit_code == 0, result.output
    assert len(batch_calls) == 4
    batched, alone = records(Path("batched")), records(Path("alone"))
    assert len(batched) == CELLS and batched == alone
    assert json.dumps(batched, sort_keys=True) == json.dumps(alone, sort_keys=True)
    linear_metrics = {r["metrics"]["top1"] for r in batched.values() if r["display"]["evaluator"] != "knn"}
    assert len(linear_metrics) > 1  # heads that differ: not one head copied to every cell


class ThreeWorkers:
    """An executor that says it has three workers and runs the jobs in this process (so
    ``batch_calls`` sees them)."""

    extracts_features = False
    jobs = 3

    def map(self, function, items):
        return map(function, items)


def test_no_batch_holds_more_than_a_workers_share_and_the_records_stay(cli, write_suite, batch_calls):
    # one protocol: budget 20's 6 cells are 2/3 of the evaluations (cells x budget), so
    # with three workers they go in two batches; budget 10's 6 cells, 1/3, in one
    suite = write_suite({**SUITE, "evaluators": [LINEAR, "knn"]})
    cells = expand(build_grid(load_suite(suite), get_registry()))
    summary = Runner(ResultStore(Path("three")), FeatureCache(), suite="tiny", executor=ThreeWorkers()).run(cells)
    assert summary.computed == len(cells) == 24
    assert sorted(batch_calls) == [3, 3, 6]
    assert cli("run", str(suite), "--out", "one").exit_code == 0
    assert batch_calls[3:] == [6, 6]  # in this process: one batch a key
    assert records(Path("three")) == records(Path("one"))


@pytest.mark.slow
def test_batches_in_worker_processes_equal_in_process_ones(cli, write_suite):
    suite = write_suite(SUITE)
    for out, jobs in (("one", "1"), ("two", "2")):
        result = cli("run", str(suite), "--out", out, "--jobs", jobs)
        assert result.exit_code == 0, result.output
    assert records(Path("one"), keep_threads=False) == records(Path("two"), keep_threads=False)


KILL_SUITE = tiny_suite(samplers=["random", "coreset"], budgets=[10, 20], seeds=[0, 1],
                        evaluators=[{"name": "linear", "options": {"epochs": 2}}])


def run_args(root: Path) -> list[str]:
    return ["run", str(root / "suite.yaml"), "--out", str(root / "results"), "--board", str(root / "board"),
            "--jobs", "1"]


@pytest.mark.slow
def test_a_run_killed_inside_a_batch_resumes(tmp_path):
    # 8 linear cells in two batches of 4, budget 20 first: killed at the sixth record
    # (the second cell of the budget-10 batch), five are written
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(KILL_SUITE))
    lp.kill_at("evaluate@6", *run_args(tmp_path), log=tmp_path / "killed.log")
    finished = lp.record_files(tmp_path / "results")
    assert len(finished) == 5
    rerun = lp.run(*run_args(tmp_path))
    assert rerun.returncode == 0 and rerun.stderr == "", rerun.stderr
    assert lp.counts(rerun.stdout) == (3, 5)
    after = lp.record_files(tmp_path / "results")
    assert {name: after[name] for name in finished} == finished  # not recomputed, not rewritten

    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "suite.yaml").write_text(yaml.safe_dump(KILL_SUITE))
    assert lp.run(*run_args(whole)).returncode == 0
    lp.assert_same_results(tmp_path, whole)


def test_a_batch_answer_of_the_wrong_length_is_one_line(cli, write_suite, monkeypatch):
    monkeypatch.setattr(Linear, "evaluate_batch", lambda self, train_xs, *args: [{"top1": 1.0}])
    result = cli("run", str(write_suite(KILL_SUITE)), "--out", "out")
    assert result.exit_code != 0
    assert "evaluator 'linear' (lbal-bench) evaluate_batch returned 1 results for 4 selections" in result.output


def test_linear_batches_small_steps_only_and_a_third_party_evaluator_never():
    registry = get_registry()
    cifar, imagenet = (build_plugin(registry, "evaluator", "linear", {"batch_size": b}) for b in (4, 128))
    assert batches(cifar, 300, 10) and batches(imagenet, 10, 10)  # steps of 4 x 10 and 10 x 10 logits
    assert not batches(imagenet, 3000, 1000)  # 128 x 1,000 logits a step: arithmetic, one head at a time
    assert not batches(build_plugin(registry, "evaluator", "knn", {}), 300, 10)
