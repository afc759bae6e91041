"""Where selection chains start (lbal_bench.schedule): cold-start samplers from zero
labels, the others from an initial pool; the board and the records say which; a chain
started by a label-reading sampler is label-reading in every record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conftest import tiny_suite


def records(results: str = "results/tiny") -> dict[tuple[str, int], dict]:
    """(sampler label, budget) → record (one evaluator per suite here)."""
    found = {}
    for path in Path(results, "records").glob("*.json"):
        record = json.loads(path.read_text())
        found[(record["display"]["sampler"], record["config"]["budget"])] = record
    return found


def indices(record: dict, results: str = "results/tiny") -> list[int]:
    return list(np.load(Path(results) / record["selection"]["file"])["indices"])


def test_a_cold_start_sampler_starts_from_zero_labels_by_default(cli, use_plugins, write_suite):
    use_plugins("good")
    suite = tiny_suite(samplers=["random", "cold_stepper"], budgets=[10, 20], seeds=[0], evaluators=["coverage"])
    result = cli("run", str(write_suite(suite)))
    assert result.exit_code == 0, result.output
    found = records()
    first, second = found[("cold_stepper", 10)], found[("cold_stepper", 20)]
    assert indices(first) == list(range(10))  # its own picks, not random's
    assert indices(second) == list(range(20))
    assert first["selection"]["info"] == {"labeled_before": 0}
    assert second["selection"]["info"] == {"labeled_before": 10}
    assert first["display"]["start"] == second["display"]["start"] == "from 0"
    assert found[("random", 10)]["display"]["start"] == "from 0"


def test_a_named_initial_pool_overrides_the_cold_start(cli, use_plugins, write_suite):
    use_plugins("good")
    cold = {"name": "cold_stepper", "initial_pool": {"sampler": "random", "size": 10}}
    suite = tiny_suite(samplers=["random", cold], budgets=[10, 20], seeds=[0], evaluators=["coverage"])
    assert cli("run", str(write_suite(suite))).exit_code == 0
    found = records()
    assert indices(found[("cold_stepper", 10)]) == indices(found[("random", 10)])
    assert found[("cold_stepper", 20)]["display"]["start"] == "from 10 random"
    board = Path("leaderboard/tiny/leaderboard.md").read_text()
    assert "from 10 random" in board


def test_initial_pool_none_starts_from_zero_and_is_refused_without_cold_start(cli, use_plugins, write_suite):
    use_plugins("good")
    for none in ("none", 0):
        suite = tiny_suite(samplers=[{"name": "cold_stepper", "initial_pool": none}], budgets=[10], seeds=[0],
                           evaluators=["coverage"])
        assert cli("validate", str(write_suite(suite))).exit_code == 0
    path = write_suite(tiny_suite(samplers=["random", {"name": "stepper", "initial_pool": "none"}]))
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {path}:9: sampler 'stepper' needs labeled points to start (it does not declare "
        "cold_start): give initial_pool: {sampler: NAME, size: N}")


def test_a_chain_started_by_a_label_reading_sampler_is_label_reading_in_every_record(cli, write_suite):
    coreset = {"name": "coreset", "initial_pool": {"sampler": "uniform", "size": 10}}
    suite = tiny_suite(samplers=["random", coreset], budgets=[10, 20], seeds=[0], evaluators=["coverage"])
    assert cli("run", str(write_suite(suite))).exit_code == 0
    found = records()
    for budget in (10, 20):
        record = found[("coreset", budget)]
        assert record["selection"]["labels_seen"] == 1347
        assert record["uses_labels"] is True
        assert record["display"]["start"] == "from 10 uniform"
    assert found[("random", 20)]["uses_labels"] is False


def test_options_that_differ_from_the_defaults_are_in_the_record(cli, write_suite):
    knn = {"name": "knn", "options": {"k": 1}}  # the default: not a change
    suite = tiny_suite(samplers=[{"name": "kmeans", "options": {"niter": 5}}], budgets=[10], seeds=[0],
                       evaluators=[knn])
    assert cli("run", str(write_suite(suite))).exit_code == 0
    (record,) = records().values()
    assert record["display"]["options"] == {"sampler": {"niter": 5}, "evaluator": {}}
