"""Shared fixtures: an isolated feature cache, a CLI runner, suite files, and real
third-party plugin distributions pip-installed into throw-away directories."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lbal_bench.cli import app
from lbal_bench.plugins import get_registry

PACKAGES = Path(__file__).parent / "plugin_packages"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own feature cache and working directory, fresh plugins, and
    in-process runs unless it asks for workers (LBAL_JOBS; tests/test_executors.py does)."""
    monkeypatch.setenv("LBAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LBAL_JOBS", "1")
    monkeypatch.delenv("LBAL_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("LBAL_STRICT_PLUGINS", raising=False)
    monkeypatch.chdir(tmp_path)
    get_registry.cache_clear()
    yield
    get_registry.cache_clear()


@pytest.fixture
def cli():
    """``cli("run", "suite.yaml")`` → click Result (``exit_code``, ``stdout``, ``stderr``)."""
    runner = CliRunner()

    def invoke(*args: str):
        get_registry.cache_clear()
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def write_suite(tmp_path):
    """Write a suite YAML (a dict, or raw text) and return its path."""

    def write(content, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    return write


def tiny_suite(**overrides) -> dict:
    """A small digits suite that runs in a few seconds."""
    suite = {
        "name": "tiny",
        "datasets": ["digits"],
        "backbones": ["pixels"],
        "samplers": ["random", "kmeans"],
        "budgets": [10, 30],
        "seeds": [0, 1],
        "evaluators": ["knn", "coverage", {"name": "linear", "options": {"epochs": 3, "batch_size": 8}}],
    }
    suite.update(overrides)
    return suite


def _pip_install(target: Path, *packages: str | Path) -> Path:
    """pip-install copies of ``packages`` (builds write into the source folder) into ``target``."""
    sources = [shutil.copytree(PACKAGES / p, target.parent / "src" / Path(p).name) for p in packages]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), *map(str, sources)],
        check=True, capture_output=True,
    )
    return target


@pytest.fixture(scope="session")
def plugin_dirs(tmp_path_factory):
    """Install the test distributions for real: name → directory to put on sys.path."""
    base = tmp_path_factory.mktemp("site")
    return {
        "good": _pip_install(base / "good", "lbal-mysampler", "lbal-misbehave", "lbal-stepper"),
        "broken": _pip_install(base / "broken", "lbal-broken"),
        "duplicate": _pip_install(base / "duplicate", "lbal-duplicate"),
        "faulty": _pip_install(base / "faulty", "lbal-cheater", "lbal-baddata"),
        "example": _pip_install(base / "example", ROOT / "examples" / "lbal-example-sampler"),
    }


@pytest.fixture
def use_plugins(plugin_dirs, monkeypatch):
    """``use_plugins("good", "broken")`` makes those installed distributions visible."""

    def use(*names: str) -> None:
        for name in names:
            monkeypatch.syspath_prepend(str(plugin_dirs[name]))
        importlib.invalidate_caches()
        get_registry.cache_clear()

    return use
