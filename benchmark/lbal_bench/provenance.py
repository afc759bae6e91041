"""Where a number came from: package versions, git revision, machine, date."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("lbal-bench", "numpy", "faiss-cpu", "faiss-gpu", "torch", "scikit-learn")


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The commit of the lbal-bench source checkout, if it runs from one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@functools.lru_cache(maxsize=1)
def _fixed() -> dict:
    return {
        "python": sys.version.split()[0],
        "packages": {n: v for n in PACKAGES if (v := _version(n))},
        "git_revision": git_revision(),
        "machine": {"node": platform.node(), "platform": platform.platform(), "processor": platform.machine()},
    }


def environment() -> dict:
    """Versions, git revision and machine of this process (cached), and its thread counts now."""
    return {**_fixed(), "threads": threads()}


def threads() -> dict:
    """The CPU threads torch and faiss use in this process: K-means and torch results on a
    CPU can differ in the last bits between thread counts, which can move a pick at a
    near-tie, so a record says under which it was computed. torch is not imported for
    this: when no plugin has loaded it, its count is what it would start with
    (``OMP_NUM_THREADS``, which workers set, else the cores)."""
    import faiss

    if "torch" in sys.modules:
        torch_threads = sys.modules["torch"].get_num_threads()
    else:
        torch_threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    return {"torch": torch_threads, "faiss": faiss.omp_get_max_threads()}


def now() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
