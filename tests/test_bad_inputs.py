"""The bad-input catalogue: every ``tests/bad_inputs/CASE.yaml`` must fail validation with
exactly the one-line message in ``CASE.expected`` (``{file}`` stands for the path)."""

from __future__ import annotations

from pathlib import Path

import pytest

CATALOGUE = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.stem for p in CATALOGUE.glob("*.yaml"))


def test_catalogue_is_complete():
    assert len(CASES) >= 25
    assert sorted(p.stem for p in CATALOGUE.glob("*.expected")) == CASES


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_suite_gives_one_clear_line(cli, case, command):
    path = CATALOGUE / f"{case}.yaml"
    expected = (CATALOGUE / f"{case}.expected").read_text().strip().replace("{file}", str(path))
    result = cli(command, str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == expected
    assert result.stdout == ""
    assert not Path("results").exists()


def test_missing_suite_file(cli):
    result = cli("validate", "nowhere.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: suite file not found: nowhere.yaml"


def test_unknown_only_key(cli):
    result = cli("run", str(CATALOGUE.parent.parent / "suites" / "digits.yaml"), "--only", "method=kmeans")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --only 'method=kmeans': expected KEY=VALUE with KEY one of "
        "dataset, backbone, sampler, evaluator, seed, budget"
    )
