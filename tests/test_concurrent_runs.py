"""Two ``lbal-bench run`` processes on one results directory and one feature cache: both
finish, no cell is computed twice, nothing is corrupt, and the leaderboard equals a
single uninterrupted run's."""

from __future__ import annotations

import time

import pytest
import yaml

import lbal_process as lp
from test_kill_resume import CELLS, SUITE, run_args, uninterrupted  # noqa: F401  (fixture)


def finished(processes, logs) -> list[tuple[int, int]]:
    """Wait for every process; (computed, already done) of each, checking a clean exit."""
    outputs = []
    for process, log in zip(processes, logs):
        assert process.wait(timeout=300) == 0, log.read_text()
        outputs.append(log.read_text())
    assert not any("warning" in text or "error" in text for text in outputs), outputs
    return [lp.counts(text) for text in outputs]


@pytest.mark.slow
def test_two_runs_started_together_compute_every_cell_once(tmp_path, uninterrupted):  # noqa: F811
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(SUITE))
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes = [lp.start(*run_args(tmp_path), log=log) for log in logs]
    done = finished(processes, logs)
    assert sum(computed for computed, _ in done) == CELLS
    assert all(computed + skipped == CELLS for computed, skipped in done)
    lp.assert_same_results(tmp_path, uninterrupted)


@pytest.mark.slow
def test_a_run_does_other_work_while_another_holds_a_cell_then_waits(tmp_path, uninterrupted):  # noqa: F811
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(SUITE))
    logs, gate = [tmp_path / "first.log", tmp_path / "second.log"], tmp_path / "go"
    # the first run stores coreset s0's initial pool and its two cells, then stops holding
    # its next selection (coreset s0's step to 20) ...
    first = lp.start(*run_args(tmp_path), log=logs[0], env={"LBAL_PAUSE_AT": "select@2", "LBAL_RESUME_WHEN": str(gate)})
    lp.wait_paused(first, logs[0], "select@2")
    # ... so the second computes the chains before it (coreset s1: 4 cells, random's
    # budget-20 selections: 4 cells), then waits at the held step instead of computing its
    # two cells again (a run waits for a held group at the end of that group's chain)
    second = lp.start(*run_args(tmp_path), log=logs[1])
    records = tmp_path / "results" / "records"
    deadline = time.monotonic() + 120
    while len(list(records.glob("*.json"))) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)
    assert len(list(records.glob("*.json"))) == 10 and second.poll() is None
    gate.touch()

    done = finished([first, second], logs)
    assert sum(computed for computed, _ in done) == CELLS
    assert done[0][0] >= 4 and done[1][0] >= 8  # the rest (random's budget-10 cells) is shared
    lp.assert_same_results(tmp_path, uninterrupted)
