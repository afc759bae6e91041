"""The budget schedule of iterative samplers: initial pool, increments, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conftest import tiny_suite


def selections(results: str = "results/tiny") -> dict[tuple[str, int], dict]:
    """(sampler, budget) → {"indices", "labels_seen", "file"} from the run's records."""
    found = {}
    for path in Path(results, "records").glob("*.json"):
        record = json.loads(path.read_text())
        data = np.load(Path(results) / record["selection"]["file"])
        found[(record["display"]["sampler"], record["config"]["budget"])] = {
            "indices": data["indices"], "labels_seen": record["selection"]["labels_seen"],
            "file": record["selection"]["file"],
        }
    return found


def test_iterative_sampler_grows_its_labeled_set_step_by_step(cli, use_plugins, write_suite):
    use_plugins("good")
    stepper = {"name": "stepper", "initial_pool": {"sampler": "random", "size": 5}}
    suite = tiny_suite(samplers=["random", stepper], budgets=[10, 20, 40], seeds=[0], evaluators=["coverage"])
    result = cli("run", str(write_suite(suite)))
    assert result.exit_code == 0, result.output
    found = selections()
    initial = found[("random", 10)]["indices"][:5]  # random picks are nested: its first 5 are the pool
    s10, s20, s40 = (found[("stepper", b)]["indices"] for b in (10, 20, 40))
    assert list(s10[:5]) == list(initial)
    assert list(s20[:10]) == list(s10) and list(s40[:20]) == list(s20)
    assert list(s10[5:]) == [i for i in range(20) if i not in initial][:5]
    assert [found[("stepper", b)]["labels_seen"] for b in (10, 20, 40)] == [5, 5 + 10, 5 + 10 + 20]
    assert found[("random", 10)]["labels_seen"] == 0


def test_default_initial_pool_is_random_at_the_smallest_budget(cli, use_plugins, write_suite):
    use_plugins("good")
    suite = tiny_suite(samplers=["random", "stepper"], budgets=[10, 20], seeds=[3], evaluators=["coverage"])
    assert cli("run", str(write_suite(suite))).exit_code == 0
    found = selections()
    assert found[("stepper", 10)]["file"] == found[("random", 10)]["file"]  # one stored selection, shared
    assert list(found[("stepper", 20)]["indices"][:10]) == list(found[("random", 10)]["indices"])


def test_resume_continues_a_chain_from_its_stored_steps(cli, use_plugins, write_suite):
    use_plugins("good")
    stepper = {"name": "stepper", "initial_pool": {"sampler": "kmeans", "size": 10}}
    suite = str(write_suite(tiny_suite(samplers=[stepper], budgets=[10, 20, 40], seeds=[0], evaluators=["coverage"])))
    cli("run", suite)
    before = selections()
    last = Path("results/tiny") / before[("stepper", 40)]["file"]
    last.unlink()
    for path in Path("results/tiny/records").glob("*.json"):
        if json.loads(path.read_text())["config"]["budget"] == 40:
            path.unlink()
    result = cli("run", suite)
    assert "computed 1 cell, 2 already done" in result.stdout
    after = selections()
    assert all(np.array_equal(before[k]["indices"], after[k]["indices"]) for k in before)
