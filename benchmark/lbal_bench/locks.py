"""Inter-process locks, so runs sharing a results directory or a feature cache never do
the same work twice nor write the same file at once.

Locks are ``fcntl``/``msvcrt`` file locks (``filelock``): the operating system releases
them when their process dies, even by SIGKILL, so a killed run never blocks the next.
Lock files are empty and stay behind (deleting them would race with a waiting process).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from .errors import LbalError


@contextmanager
def locked(path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the exclusive lock ``path`` (created with its folder) and give True; with
    ``wait=False`` give False at once when another process holds it. A folder that
    cannot be written gives an ``LbalError`` naming the lock."""
    path = Path(path)
    lock = FileLock(str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(blocking=wait)
    except Timeout:  # before OSError: Timeout is a TimeoutError
        acquired = False
    except OSError as exc:
        raise LbalError(f"cannot write {path}: {exc.strerror or exc}") from None
    else:
        acquired = True
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
