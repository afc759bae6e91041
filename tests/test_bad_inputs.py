"""The bad-input catalogue: every ``tests/bad_inputs/CASE.expected`` is the exact output
of lbal-bench on that bad input, run by one parametrised test.

A case is ``CASE.yaml`` (a suite) and ``CASE.expected``; by default both ``validate`` and
``run`` must print the expected line and exit with status 2. ``cases.yaml`` says how to
run the cases that need more: test plugin distributions, environment variables, files
built first (``PREPARE`` below), other commands, another exit status.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from lbal_bench.plugins import get_registry
from lbal_bench.registry import KINDS

CATALOGUE = Path(__file__).parent / "bad_inputs"
SETUP = yaml.safe_load((CATALOGUE / "cases.yaml").read_text())
CASES = sorted(p.stem for p in CATALOGUE.glob("*.expected"))
DEFAULT_COMMANDS = [["validate", "{suite}"], ["run", "{suite}"]]


def tampered_record(cli, suite: Path) -> dict:
    """Run the suite, then edit one record's config (its budget) as a hand edit would."""
    result = cli("run", str(suite))
    assert result.exit_code == 0, result.output
    record = sorted(Path("results/bad/records").glob("*.json"))[0]
    data = json.loads(record.read_text())
    data["config"]["budget"] = 11
    record.write_text(json.dumps(data, indent=2))
    return {"record": str(Path("results/bad/records") / record.name)}


def edited_metric(cli, suite: Path) -> dict:
    """Run the suite, then change one record's metric as a hand edit would."""
    result = cli("run", str(suite))
    assert result.exit_code == 0, result.output
    record = sorted(Path("results/bad/records").glob("*.json"))[0]
    data = json.loads(record.read_text())
    data["metrics"] = {name: 100.0 for name in data["metrics"]}
    record.write_text(json.dumps(data, indent=2))
    return {"record": str(Path("results/bad/records") / record.name)}


def features_files(cli, suite: Path) -> dict:
    """A features dataset whose train file has one label fewer than feature rows."""
    rng = np.random.default_rng(0)
    np.savez("train.npz", features=rng.normal(size=(30, 4)).astype(np.float32), labels=np.arange(29) % 3)
    np.savez("test.npz", features=rng.normal(size=(9, 4)).astype(np.float32), labels=np.arange(9) % 3)
    return {}


class Shell:
    """Pickled as a call of ``os.system``: what a booby-trapped checkpoint holds."""

    def __reduce__(self):
        return os.system, ("echo this must never run",)


def checkpoints(cli, suite: Path) -> dict:
    """Two ResNet-18 checkpoints: one whose keys do not match, one with pickled code."""
    import torch

    torch.save({"model": {"conv1.weight": torch.zeros(64, 3, 7, 7), "bn9.weight": torch.zeros(64)}}, "wrong_keys.pth")
    torch.save({"model": {"conv1.weight": torch.zeros(64, 3, 7, 7)}, "hook": Shell()}, "pickled_code.pth")
    return {}


PREPARE = {"tampered_record": tampered_record, "edited_metric": edited_metric, "features_files": features_files, "checkpoints": checkpoints}


def expected(case: str, suite: Path, filled: dict) -> str:
    text = (CATALOGUE / f"{case}.expected").read_text().strip().replace("{file}", str(suite))
    for kind in KINDS:
        if f"{{installed:{kind}}}" in text:
            text = text.replace(f"{{installed:{kind}}}", ", ".join(get_registry().names(kind)))
    for key, value in filled.items():
        text = text.replace(f"{{{key}}}", value)
    return text


def test_catalogue_is_complete():
    assert len(CASES) >= 30
    suites = sorted(p.stem for p in CATALOGUE.glob("*.yaml") if p.name != "cases.yaml")
    assert suites == CASES
    assert set(SETUP) <= set(CASES)
    assert {s["prepare"] for s in SETUP.values() if "prepare" in s} <= set(PREPARE)


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_its_catalogued_message(cli, use_plugins, monkeypatch, case):
    setup = SETUP.get(case, {})
    use_plugins(*setup.get("plugins", []))
    for name, value in setup.get("env", {}).items():
        monkeypatch.setenv(name, value)
    suite = CATALOGUE / f"{case}.yaml"
    filled = PREPARE[setup["prepare"]](cli, suite) if "prepare" in setup else {}
    status = setup.get("exit", 2)
    for command in setup.get("commands", DEFAULT_COMMANDS):
        args = [arg.replace("{suite}", str(suite)) for arg in command]
        result = cli(*args)
        assert (result.exit_code, result.stderr.strip()) == (status, expected(case, suite, filled)), args
        if status == 2:
            assert result.stdout == ""
    if "commands" not in setup and "prepare" not in setup:
        assert not Path("results").exists()  # refused before any work


def test_missing_suite_file(cli):
    result = cli("validate", "nowhere.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: suite file not found: nowhere.yaml"
