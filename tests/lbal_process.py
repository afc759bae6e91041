"""The real ``lbal-bench`` console script in subprocesses: run it, pause it at a named
fault point (``LBAL_PAUSE_AT``, see ``lbal_bench.faults``) and kill it, and read back
what a run left: records, selections and the leaderboard."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LBAL = str(Path(sys.executable).parent / "lbal-bench")
PAUSED = "lbal-bench: paused at "


def run(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``lbal-bench ARGS`` to completion, output captured as text."""
    return subprocess.run([LBAL, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=timeout)


def start(*args: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """``lbal-bench ARGS`` in the background, stdout and stderr to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen([LBAL, *args], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})


def wait_paused(process: subprocess.Popen, log: Path, point: str, timeout: float = 120) -> str:
    """Wait until ``process`` (started with ``LBAL_PAUSE_AT=point``) pauses; its pause line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if PAUSED in text:
            return next(line for line in text.splitlines() if line.startswith(PAUSED))
        if process.poll() is not None:
            raise AssertionError(f"lbal-bench exited ({process.returncode}) before pausing at {point}:\n{text}")
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"lbal-bench did not reach {point} within {timeout} s")


def kill_at(point: str, *args: str, log: Path) -> str:
    """Run ``lbal-bench ARGS`` until it pauses at ``point``, SIGKILL it; the pause line."""
    process = start(*args, log=log, env={"LBAL_PAUSE_AT": point})
    line = wait_paused(process, log, point)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return line


def counts(stdout: str) -> tuple[int, int]:
    """(computed, already done) from ``lbal-bench run``'s summary line."""
    match = re.search(r"computed (\d+) cells?, (\d+) already done", stdout)
    assert match, stdout
    return int(match.group(1)), int(match.group(2))


def record_files(results: Path) -> dict[str, bytes]:
    """Every record file of a results directory: name → bytes."""
    return {p.name: p.read_bytes() for p in sorted((results / "records").glob("*.json"))}


def metrics(results: Path) -> dict[str, dict]:
    """Fingerprint → metrics of every record."""
    return {name: json.loads(data)["metrics"] for name, data in record_files(results).items()}


def selections(results: Path) -> dict[str, list[int]]:
    """Selection key → stored indices."""
    found = {}
    for path in sorted((results / "selections").glob("*.npz")):
        with np.load(path) as data:
            found[path.stem] = data["indices"].tolist()
    return found


def board_files(board: Path) -> dict[str, object]:
    """Every file of a leaderboard directory, ``leaderboard.json`` without its provenance
    (which holds the records' dates)."""
    files: dict[str, object] = {}
    for path in sorted(p for p in board.rglob("*") if p.is_file()):
        name = str(path.relative_to(board))
        if name == "leaderboard.json":
            document = json.loads(path.read_text())
            document.pop("provenance")
            files[name] = document
        else:
            files[name] = path.read_bytes()
    return files


def assert_same_results(root: Path, reference: Path) -> None:
    """``root/results`` and ``root/board`` hold what ``reference``'s run left there: the
    same records' metrics, selections and leaderboard, and no temporary file."""
    assert metrics(root / "results") == metrics(reference / "results")
    assert selections(root / "results") == selections(reference / "results")
    assert board_files(root / "board") == board_files(reference / "board")
    leftovers = [p for d in ("results", "board") for p in (root / d).rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
