"""The third-party kit: ``lbal-bench check SAMPLER``, the checks of ``lbal_bench.testing``
called from a package's own pytest suite, and the example package under ``examples/``,
pip-installed for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT
from lbal_bench.testing import ConformanceError, assert_conforms, run_checks, sampler_checks

CHECKS = [c.name for c in sampler_checks()]


def verdicts(stdout: str) -> dict[str, str]:
    """Check name → the rest of its line (``pass ...`` / ``FAIL ...``), from ``check``'s output."""
    rows = [line.split(None, 2) for line in stdout.splitlines() if line.startswith(("pass", "FAIL"))]
    return {name: f"{result} {rest.split(' s  ', 1)[1]}" for result, name, rest in rows}


def test_check_passes_a_reference_sampler(cli):
    result = cli("check", "random")
    assert result.exit_code == 0, result.output
    assert list(verdicts(result.stdout)) == CHECKS
    assert all(v.startswith("pass") for v in verdicts(result.stdout).values())
    assert result.stdout.splitlines()[-1] == "sampler 'random' (lbal-bench 0.1.0): 12 of 12 checks passed"


def test_check_passes_options_to_the_factory(cli):
    result = cli("check", "kmeans", "--option", "nredo=2", "-o", "init=random")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith(": 12 of 12 checks passed")
    refused = cli("check", "kmeans", "--option", "nredo=2", "-o", "init=bogus")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: sampler 'kmeans': ") and "init" in refused.stderr


@pytest.mark.parametrize(
    "sampler, failures",
    [
        ("bad_duplicates", {
            "unique": "FAIL returned index 0 more than once",
            "cold-start": "FAIL with 0 labeled of 120 and budget 10: returned index 0 more than once",
            "budget-all": "FAIL with 18 labeled of 120 and budget 102: returned index 1 more than once",
            "duplicate-rows": "FAIL with 0 labeled of 120 and budget 30: returned index 0 more than once",
            "time": "FAIL with 0 labeled of 2000 and budget 50: returned index 0 more than once",
        }),
        ("bad_too_few", {
            "exact-count": "FAIL returned 9 indices for a budget of 10",
            "cold-start": "FAIL with 0 labeled of 120 and budget 10: returned 9 indices for a budget of 10",
            "budget-1": "FAIL with 0 labeled of 120 and budget 1: returned 0 indices for a budget of 1",
            "budget-all": "FAIL with 18 labeled of 120 and budget 102: returned 101 indices for a budget of 102",
            "duplicate-rows": "FAIL with 0 labeled of 120 and budget 30: returned 29 indices for a budget of 30",
            "time": "FAIL with 0 labeled of 2000 and budget 50: returned 49 indices for a budget of 50",
        }),
        ("bad_out_of_range", {
            "in-range": "FAIL returned index 120 outside the pool of 120 points",
            "cold-start": "FAIL with 0 labeled of 120 and budget 10: returned index 120 outside the pool of 120 points",
            "budget-1": "FAIL with 0 labeled of 120 and budget 1: returned index 120 outside the pool of 120 points",
            "budget-all": "FAIL with 18 labeled of 120 and budget 102: returned index 120 outside the pool of 120 points",
            "duplicate-rows": "FAIL with 0 labeled of 120 and budget 30: returned index 120 outside the pool of 120 points",
            "time": "FAIL with 0 labeled of 2000 and budget 50: returned index 2000 outside the pool of 2000 points",
        }),
        ("bad_labeled", {
            "not-labeled": "FAIL returned already-labeled index 0",
            "budget-1": "FAIL with 18 labeled of 120 and budget 1: returned already-labeled index 0",
            "budget-all": "FAIL with 18 labeled of 120 and budget 102: returned already-labeled index 0",
            "duplicate-rows": "FAIL with 18 labeled of 120 and budget 30: returned already-labeled index 0",
            "time": "FAIL with 20 labeled of 2000 and budget 50: returned already-labeled index 1818",
        }),
        ("bad_floats", {
            "exact-count": "FAIL returned float64 indices, not int64",
            "cold-start": "FAIL with 0 labeled of 120 and budget 10: must return a 1-D array of integer indices, got float64 [10]",
            "budget-1": "FAIL with 0 labeled of 120 and budget 1: must return a 1-D array of integer indices, got float64 [1]",
            "budget-all": "FAIL with 18 labeled of 120 and budget 102: must return a 1-D array of integer indices, got float64 [102]",
            "duplicate-rows": "FAIL with 0 labeled of 120 and budget 30: must return a 1-D array of integer indices, got float64 [30]",
            "time": "FAIL with 0 labeled of 2000 and budget 50: must return a 1-D array of integer indices, got float64 [50]",
        }),
    ],
)
def test_check_names_every_broken_rule(cli, use_plugins, sampler, failures):
    use_plugins("good")
    result = cli("check", sampler)
    assert result.exit_code == 1
    found = verdicts(result.stdout)
    failed = {name: line for name, line in found.items() if line.startswith("FAIL")}
    assert failed == failures
    assert result.stdout.splitlines()[-1].endswith(f"{len(found) - len(failed)} of 12 checks passed")


def test_check_reports_a_crashing_sampler_on_every_check(cli, use_plugins):
    use_plugins("good")
    found = verdicts(cli("check", "bad_crash").stdout)
    assert found["budget-1"] == "FAIL select(pool of 120, budget 1) raised RuntimeError: sampler crashed"
    assert [name for name, line in found.items() if line.startswith("FAIL")] == CHECKS[1:]


def test_check_catches_a_sampler_reading_hidden_labels(cli, use_plugins):
    use_plugins("good")
    result = cli("check", "bad_peek")
    assert result.exit_code == 1
    assert verdicts(result.stdout)["labels"] == (
        "FAIL read hidden labels: asked for the labels of 120 unlabeled point(s) without declaring uses_labels = True"
    )


def test_check_refuses_bad_arguments(cli):
    assert cli("check", "kmean").stderr == "error: unknown sampler 'kmean' (did you mean 'kmeans'?)\n"
    assert cli("check", "kmeans", "-o", "nredo").stderr == (
        "error: --option 'nredo': expected KEY=VALUE, e.g. --option nredo=5\n"
    )
    assert cli("check", "kmeans", "-o", "niterr=3").stderr == (
        "error: sampler 'kmeans': unknown option 'niterr' (did you mean 'niter'?)\n"
    )


class Slow:
    """Valid picks, slowly on the timed 2,000-point pool."""

    uses_labels = False
    iterative = False

    def select(self, pool, budget, rng):
        if len(pool.features) == 2000:
            time.sleep(0.05)
        return pool.unlabeled[:budget]


class Undeclared:
    def select(self, pool, budget, rng):
        return pool.unlabeled[:budget]


def test_time_limit_and_undeclared_attributes():
    timed = {r.name: r for r in run_checks(Slow(), time_limit=0.001)}
    assert not timed["time"].passed and timed["time"].message.startswith("took ")
    assert timed["time"].message.endswith(" s for 50 picks from 2,000 points (limit 0.001 s)")
    assert [(r.name, r.passed, r.message) for r in run_checks(Undeclared())] == [
        ("declares", False, "'uses_labels' must be a bool attribute, got 'nothing'"),
    ]
    with pytest.raises(ConformanceError, match="^declares: 'uses_labels' must be a bool attribute"):
        assert_conforms(Undeclared())


def test_a_conforming_sampler_passes_assert_conforms():
    class FirstUnlabeled:
        uses_labels = False
        iterative = True

        def select(self, pool, budget, rng):
            return pool.unlabeled[:budget].astype(np.int64)

    assert_conforms(FirstUnlabeled())


@pytest.mark.slow
def test_example_package_installs_lists_checks_and_passes_its_own_tests(cli, use_plugins, plugin_dirs):
    use_plugins("example")
    listed = {p["name"]: p for p in json.loads(cli("plugins", "--json").stdout)}
    assert (listed["kmeanspp"]["distribution"], listed["kmeanspp"]["version"]) == ("lbal-example-sampler", "1.0.0")
    result = cli("check", "kmeanspp", "--option", "trials=3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "sampler 'kmeanspp' (lbal-example-sampler 1.0.0): 12 of 12 checks passed"
    assert listed["kmeanspp"]["options"] == [
        {"name": "trials", "type": "int", "range": ">= 1", "default": 1, "required": False}]
    refused = cli("check", "kmeanspp", "--option", "trials=0")
    assert (refused.exit_code, refused.stderr.strip()) == (
        2, "error: sampler 'kmeanspp': option 'trials' must be int (>= 1), got 0")
    tests = ROOT / "examples" / "lbal-example-sampler" / "tests"
    own = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True, text=True, cwd=tests,
        env={**os.environ, "PYTHONPATH": str(plugin_dirs["example"])},
    )
    assert own.returncode == 0, own.stdout + own.stderr
    assert " passed" in own.stdout.splitlines()[-1]
