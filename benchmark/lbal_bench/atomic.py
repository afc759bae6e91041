"""Atomic file writes: a reader sees the old file or the complete new one, never a part.

A temp file is named ``.<name>.<random>.<host>.<pid>.tmp``, so the temp file of a writer
killed by SIGKILL (which no ``finally`` clause removes) can be recognised later and
removed by :func:`remove_orphans`.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import LbalError
from .faults import pause_point


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _writer() -> str:
    """``<host>.<pid>`` of this process, as temp file names carry it."""
    return f"{socket.gethostname().replace('.', '_')}.{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def remove_orphans(directory: Path) -> int:
    """Delete the temp files in ``directory`` left by killed writers on this host (a
    writer that is still running keeps its own); return how many went."""
    host = _writer().rsplit(".", 1)[0]
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        parts = entry.name.split(".")
        if not (entry.name.startswith(".") and len(parts) > 4 and parts[-1] == "tmp" and parts[-3] == host):
            continue
        if parts[-2].isdigit() and not _alive(int(parts[-2])):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` through ``write(file)`` into a temp file, fsync, then rename it.

    On failure (full disk, read-only directory) nothing is left behind and an
    ``LbalError`` names the path.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".{_writer()}.tmp")
    except OSError as exc:
        raise LbalError(f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(handle, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        pause_point("write", path)
        os.replace(tmp, path)
    except OSError as exc:
        raise LbalError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """``atomic_write`` for UTF-8 text."""
    atomic_write(path, lambda out: out.write(text.encode("utf-8")))
