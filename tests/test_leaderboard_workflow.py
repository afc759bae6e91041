"""The publishing workflow (.github/workflows/leaderboard.yml), run here step by step as
written: its build steps are plain lbal-bench commands, executed with bash in a copy of
the layout CI sees (a default suite, a submitted run under leaderboard/results/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, tiny_suite
from leaderboard_records import fixed_records, write_results

WORKFLOW = ROOT / ".github" / "workflows" / "leaderboard.yml"
INSTALL = 'pip install -e ".[dev]"'


def build_steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["build"]["steps"]


def run_step(step: dict, cwd: Path) -> subprocess.CompletedProcess:
    """A ``run:`` step as GitHub runs it (bash -e -o pipefail), with lbal-bench on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture
def checkout(tmp_path, write_suite):
    """What CI checks out, small: the default suite (fewer cells) and one submitted run."""
    (tmp_path / "suites").mkdir()
    write_suite(tiny_suite(name="digits", evaluators=["coverage", "knn"]), "suites/digits.yaml")
    write_results(tmp_path / "leaderboard" / "results" / "submitted", fixed_records())
    return tmp_path


def test_build_steps_are_the_readme_install_and_lbal_bench_commands():
    scripts = [s["run"] for s in build_steps() if "run" in s]
    assert scripts[0] == INSTALL
    assert all("lbal-bench " in script for script in scripts[1:]) and len(scripts) == 5
    deploy = yaml.safe_load(WORKFLOW.read_text())["jobs"]["deploy"]
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


@pytest.mark.slow
def test_workflow_builds_every_board_and_the_site(checkout):
    for step in build_steps():
        if "run" in step and step["run"] != INSTALL:
            done = run_step(step, checkout)
            assert done.returncode == 0, f"{step.get('name')}: {done.stderr}"
    index = (checkout / "_site" / "index.html").read_text()
    assert 'href="digits/index.html"' in index and 'href="submitted/index.html"' in index
    submitted = (checkout / "leaderboard" / "submitted" / "leaderboard.md").read_text()
    assert "## cifar10 · resnet18_compress · linear top1" in submitted
    assert (checkout / "_site" / "digits" / "plots" / "digits-pixels-knn-top1.svg").exists()


def test_workflow_stops_on_an_edited_submission(checkout):
    victim = next(p for p in sorted((checkout / "leaderboard/results/submitted/records").glob("*.json"))
                  if '"budget": 10' in p.read_text())
    victim.write_text(victim.read_text().replace('"budget": 10', '"budget": 11'))
    check = next(s for s in build_steps() if s.get("name") == "Check submitted results")
    done = run_step(check, checkout)
    assert done.returncode == 2
    assert done.stderr == (f"error: corrupt record leaderboard/results/submitted/records/{victim.name}: "
                           "fingerprint does not match its config (record was edited)\n")
