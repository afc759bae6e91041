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
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from hostile_plugins import plugin_dirs  # noqa: F401  (adds lbal-hostile)
from lbal_bench.plugins import get_registry
from lbal_bench.registry import KINDS
from lbal_bench.store import content_checksum, selection_checksum

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
    """Two ResNet-18 checkpoints: one whose keys do not match, one with pickled code; and
    a small CIFAR-10 (``cifar``) for it to embed."""
    import torch

    import datagen

    datagen.cifar(Path("cifar"), per_batch=4)

    torch.save({"model": {"conv1.weight": torch.zeros(64, 3, 7, 7), "bn9.weight": torch.zeros(64)}}, "wrong_keys.pth")
    torch.save({"model": {"conv1.weight": torch.zeros(64, 3, 7, 7)}, "hook": Shell()}, "pickled_code.pth")
    return {}


def _first(kind: str) -> Path:
    return sorted(Path("results/bad", kind).glob("*"))[0]


def resealed_record(edit):
    """A preparation: run the suite, then ``edit`` one record's content and seal it with a
    checksum that matches again, as someone who read the code could."""

    def prepare(cli, suite: Path) -> dict:
        result = cli("run", str(suite))
        assert result.exit_code == 0, result.output
        path = _first("records")
        data = json.loads(path.read_text())
        edit(data)
        data["checksum"] = content_checksum(data)
        path.write_text(json.dumps(data, indent=2))
        return {"record": str(path)}

    return prepare


def stored_selection(edit, reseal: bool = True, records: bool = True):
    """A preparation: run the suite, then replace one selection's indices by
    ``edit(indices)`` (resealed with a matching checksum unless ``reseal`` is False);
    ``records=False`` deletes the records too, so the next run reuses the selection."""

    def prepare(cli, suite: Path) -> dict:
        result = cli("run", str(suite))
        assert result.exit_code == 0, result.output
        path = _first("selections")
        arrays = dict(np.load(path))
        arrays["indices"] = edit(arrays["indices"])
        if reseal:
            arrays["checksum"] = selection_checksum(path.stem, arrays["indices"], arrays["seconds"],
                                                    arrays["labels_seen"], str(arrays["info"]))
        np.savez(path, **arrays)
        if not records:
            shutil.rmtree("results/bad/records")
        return {"selection": str(path), "selection_abs": str(path.resolve())}  # a run names it absolute

    return prepare


def truncated_selection(records: bool):
    """A preparation: run the suite, cut one selection file in half (and delete the
    records unless ``records``)."""

    def prepare(cli, suite: Path) -> dict:
        filled = stored_selection(lambda indices: indices, records=records)(cli, suite)
        path = Path(filled["selection"])
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return filled

    return prepare


def truncated_selection_of(only: str):
    """A preparation: run the cells ``only`` keeps (``--only KEY=VALUE``: one selection),
    cut that selection file in half and delete the records, so the next run reads it."""

    def prepare(cli, suite: Path) -> dict:
        result = cli("run", str(suite), "--only", only)
        assert result.exit_code == 0, result.output
        path = _first("selections")
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        shutil.rmtree("results/bad/records")
        return {"selection": str(path), "selection_abs": str(path.resolve())}

    return prepare


def cp1252_labeled(cli, suite: Path) -> dict:
    """A features file and a --labeled CSV saved by a spreadsheet in Windows-1252."""
    np.save("emb.npy", np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32))
    Path("labeled.csv").write_bytes("index,label\n3,caf\xe9\n5,th\xe9\n".encode("latin-1"))
    return {}


def features_file(cli, suite: Path) -> dict:
    """A features file of 40 unlabeled embeddings, and a folder where an output might go."""
    np.save("emb.npy", np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32))
    Path("out").mkdir()
    Path("board.txt").write_text("not a folder\n")
    return {}


def photo_folder(cli, suite: Path) -> dict:
    """A folder of three images and a link whose target is gone."""
    from PIL import Image

    Path("photos").mkdir()
    for i in range(3):
        pixels = (np.random.default_rng(i).random((16, 16, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(f"photos/p{i}.png")
    os.symlink("/nonexistent/gone.png", "photos/gone.png")
    return {}


PREPARE = {
    "tampered_record": tampered_record, "edited_metric": edited_metric, "features_files": features_files,
    "checkpoints": checkpoints, "truncated_selection": truncated_selection(records=False),
    "truncated_selection_kept": truncated_selection(records=True), "cp1252_labeled": cp1252_labeled,
    "truncated_random_selection": truncated_selection_of("sampler=random"),
    "truncated_initial_pool": truncated_selection_of("budget=10"),
    "features_file": features_file, "photo_folder": photo_folder,
    "record_without_dataset": resealed_record(lambda d: d["display"].pop("dataset")),
    "record_without_seed": resealed_record(lambda d: d["config"].pop("seed")),
    "record_budget_ten": resealed_record(lambda d: d["config"].update(budget="ten")),
    "record_metric_abc": resealed_record(lambda d: d["metrics"].update(coverage="abc")),
    "record_metric_list": resealed_record(lambda d: d["metrics"].update(coverage=["a", "b"])),
    "record_metric_nested": resealed_record(lambda d: d["metrics"].update(coverage={"a": 1.0})),
    "record_metric_null": resealed_record(lambda d: d["metrics"].update(coverage=None)),
    "record_no_metrics": resealed_record(lambda d: d.update(metrics={})),
    "selection_too_few": stored_selection(lambda indices: np.arange(3)),
    "selection_duplicates": stored_selection(lambda indices: np.array([7, 7, *range(8)])),
    "selection_negative": stored_selection(lambda indices: np.array([-4, *range(9)])),
    "selection_floats": stored_selection(lambda indices: np.arange(10.0)),
    "selection_out_of_range": stored_selection(lambda indices: np.array([5000, *range(9)]), records=False),
    "selection_edited": stored_selection(lambda indices: np.arange(10), reseal=False),
    "selection_edited_rerun": stored_selection(lambda indices: np.arange(10), reseal=False, records=False),
    "selection_too_few_rerun": stored_selection(lambda indices: np.arange(3), records=False),
}


def expected(case: str, suite: Path, filled: dict) -> str:
    text = (CATALOGUE / f"{case}.expected").read_text().strip().replace("{file}", str(suite))
    for kind in KINDS:
        if f"{{installed:{kind}}}" in text:
            text = text.replace(f"{{installed:{kind}}}", ", ".join(get_registry().names(kind)))
    for key, value in filled.items():
        text = text.replace(f"{{{key}}}", value)
    return text


def test_catalogue_is_complete():
    assert len(CASES) >= 90
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
