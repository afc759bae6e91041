"""Kill -9 at named moments of a run, then rerun: no finished cell is lost or recomputed,
no record is corrupt, and the final leaderboard equals an uninterrupted run's.

Each case runs the real ``lbal-bench`` console script with ``LBAL_PAUSE_AT`` so that it
stops at a fault point (``lbal_bench.faults``), kills it with SIGKILL there, and reruns.
"""

from __future__ import annotations

import pytest
import yaml

import lbal_process as lp
from conftest import tiny_suite

# 16 cells; the runner computes them chain by chain, longest first, each selection
# followed by its evaluations: coreset s0 (its random initial pool at 10, then its step
# to 20), coreset s1, then random's single-batch selections, budget 20 before 10 (s0, s1;
# random's budget-10 cells reuse the stored initial pools) — 6 selections computed in all.
SUITE = tiny_suite(samplers=["random", "coreset"], budgets=[10, 20], seeds=[0, 1], evaluators=["knn", "coverage"])
CELLS = 16

# point → records already written when the run is killed there
KILL_POINTS = {
    "extract": 0,                       # train features computed, cache file not written
    "write:*/features/*": 0,            # a feature file complete in its temp file, not renamed
    "select@3": 4,                      # third selection computed, not stored
    "write:*/selections/*@5": 8,        # fifth selection in its temp file (random s0 at 20)
    "evaluate@7": 6,                    # seventh cell evaluated, record not written
    "write:*/records/*@10": 9,          # tenth record in its temp file
    "write:*/leaderboard.csv": CELLS,   # every cell done, leaderboard half written
}


def run_args(root) -> list[str]:
    """In this process (``--jobs 1``): the kill points count the moments of one process."""
    return ["run", str(root / "suite.yaml"), "--out", str(root / "results"), "--board", str(root / "board"),
            "--jobs", "1"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """An uninterrupted run of the suite, with its own feature cache."""
    root = tmp_path_factory.mktemp("uninterrupted")
    (root / "suite.yaml").write_text(yaml.safe_dump(SUITE))
    result = lp.run(*run_args(root), env={"LBAL_CACHE_DIR": str(root / "cache")})
    assert result.returncode == 0, result.stderr
    assert lp.counts(result.stdout) == (CELLS, 0)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, uninterrupted, point):
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(SUITE))
    paused = lp.kill_at(point, *run_args(tmp_path), log=tmp_path / "killed.log")
    assert paused.startswith(f"{lp.PAUSED}{point.split(':')[0].split('@')[0]}")
    finished = lp.record_files(tmp_path / "results")
    assert len(finished) == KILL_POINTS[point]

    rerun = lp.run(*run_args(tmp_path))
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr == ""  # nothing corrupt to report
    assert lp.counts(rerun.stdout) == (CELLS - len(finished), len(finished))
    after = lp.record_files(tmp_path / "results")
    assert {name: after[name] for name in finished} == finished  # not recomputed, not rewritten
    lp.assert_same_results(tmp_path, uninterrupted)  # the killed write's temp file is gone too
    assert [p for p in (tmp_path / "cache").rglob("*") if p.name.endswith(".tmp")] == []


def test_a_pause_point_that_is_never_reached_changes_nothing(tmp_path, uninterrupted):
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(SUITE))
    result = lp.run(*run_args(tmp_path), env={"LBAL_PAUSE_AT": "nowhere"})
    assert result.returncode == 0, result.stderr
    assert "paused" not in result.stderr
    lp.assert_same_results(tmp_path, uninterrupted)
