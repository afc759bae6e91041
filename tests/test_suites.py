"""Every suite shipped in suites/ is valid: the schema and every plugin it names; an
offline suite fully (options, budgets), and a suite of local data up to its missing
root, which is reported in one line naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lbal_bench.plugins import get_registry
from lbal_bench.suite import load_suite

SUITES = sorted((Path(__file__).parent.parent / "suites").glob("*.yaml"))


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_shipped_suite_is_valid(path, monkeypatch, cli):
    variables = set(re.findall(r"\$\{(\w+)\}", path.read_text()))
    for name in variables:
        monkeypatch.setenv(name, f"/data/{name.lower()}")
    suite = load_suite(path)
    assert suite.name == path.stem
    registry = get_registry()
    for spec in suite.samplers:  # every sampler and evaluator of the paper ships with lbal-bench
        registry.create("sampler", spec.name, spec.options)
    for spec in suite.evaluators:
        registry.create("evaluator", spec.name, spec.options)
    data = [("dataset", s.name) for s in suite.datasets] + [("backbone", s.name) for s in suite.backbones]
    assert all(name in registry.names(kind) for kind, name in data)  # every dataset and backbone ships too
    result = cli("validate", str(path))
    if not variables:  # offline: fully valid
        assert result.exit_code == 0, result.output
        return
    # the data lives on the user's disk: validation stops at the first dataset's missing root
    first = suite.datasets[0]
    assert result.exit_code == 2
    assert re.fullmatch(
        rf"error: {re.escape(str(path))}:\d+: dataset '{first.name}': root {re.escape(first.options['root'])} "
        r"is missing; [^\n]+\n", result.stderr), result.stderr


def test_readme_suite_examples_are_valid(cli, tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)
    full = [b for b in blocks if b.startswith("name:")]
    assert full, "the README shows a complete suite"
    for i, block in enumerate(full):
        path = tmp_path / f"readme_{i}.yaml"
        path.write_text(block)
        result = cli("validate", str(path))
        assert result.exit_code == 0, result.output
