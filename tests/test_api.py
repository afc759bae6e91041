"""The Python API (lbal_bench.run / load_results / select): the CLI's records, a table
of them, and one selection from an array."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

import lbal_bench
from conftest import tiny_suite


def test_run_writes_the_records_the_cli_writes(cli, write_suite, tmp_path):
    suite = write_suite(tiny_suite(evaluators=["coverage", "knn"]))
    result = lbal_bench.run(suite, out=tmp_path / "api")
    assert result.summary.computed == 16 and result.board == Path("leaderboard/tiny")
    assert cli("run", str(suite), "--out", str(tmp_path / "cli")).exit_code == 0

    def metrics(root: Path) -> dict:
        return {p.name: json.loads(p.read_text())["metrics"] for p in (root / "records").glob("*.json")}

    assert metrics(tmp_path / "api") == metrics(tmp_path / "cli")
    again = lbal_bench.run(suite, out=tmp_path / "api", write_board=False)
    assert (again.summary.computed, again.summary.skipped, again.board) == (0, 16, None)


def test_load_results_gives_one_row_per_cell(write_suite, tmp_path):
    lbal_bench.run(write_suite(tiny_suite(evaluators=["knn"])), out=tmp_path / "r", write_board=False)
    frame = lbal_bench.load_results(tmp_path / "r")
    assert len(frame) == 8  # 2 samplers × 2 budgets × 2 seeds
    assert set(frame["sampler"]) == {"random", "kmeans"} and set(frame["start"]) == {"from 0"}
    means = frame.groupby(["sampler", "budget"])["top1"].mean()
    assert means["kmeans", 10] > means["random", 10]  # the paper's effect, at 10 labels on digits


def test_select_matches_the_benchmark_cell_and_builds_on_labeled_points(write_suite, tmp_path):
    features = load_digits().data
    lbal_bench.run(write_suite(tiny_suite(samplers=["kmeans"], seeds=[0], budgets=[10], evaluators=["coverage"])),
                   out=tmp_path / "r", write_board=False)
    (row,) = lbal_bench.load_results(tmp_path / "r").itertuples()
    cell = np.load(tmp_path / "r" / row.selection_file)["indices"]
    pool = np.arange(len(features))
    from sklearn.model_selection import train_test_split  # the digits plugin's split

    train, _ = train_test_split(pool, test_size=0.25, random_state=0, stratify=load_digits().target)
    picks = lbal_bench.select(features[train], budget=10, seed=0)  # kmeans: the declared default
    np.testing.assert_array_equal(picks, cell)
    more = lbal_bench.select(features[train], budget=5, sampler="coreset", labeled=picks)
    assert len(more) == 5 and not set(more) & set(picks)


def test_select_refuses_bad_input_in_one_line():
    features = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(lbal_bench.LbalError, match=r"^unknown sampler 'kmean' \(did you mean 'kmeans'\?\)$"):
        lbal_bench.select(features, budget=3, sampler="kmean")
    with pytest.raises(lbal_bench.LbalError, match=r"^select: 1 labels for 2 labeled indices$"):
        lbal_bench.select(features, budget=3, sampler="coreset", labeled=[0, 1], labels=[0])
