"""Where a number came from: package versions, git revision, machine, date."""

from __future__ import annotations

import functools
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
def environment() -> dict:
    """Versions, git revision and machine of this process (cached)."""
    return {
        "python": sys.version.split()[0],
        "packages": {n: v for n in PACKAGES if (v := _version(n))},
        "git_revision": git_revision(),
        "machine": {"node": platform.node(), "platform": platform.platform(), "processor": platform.machine()},
        "threads": threads(),
    }


def threads() -> dict:
    """The CPU threads torch and faiss use in this process: K-means and torch results on a
    CPU can differ in the last bits between thread counts, which can move a pick at a
    near-tie, so a record says under which it was computed."""
    import faiss
    import torch

    return {"torch": torch.get_num_threads(), "faiss": faiss.omp_get_max_threads()}


def now() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
