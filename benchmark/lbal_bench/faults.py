"""Named fault-injection points, so tests can kill a run at a chosen moment.

The core calls :func:`pause_point` at the moments where a crash matters most:

=========  ============================================================================
point      where
=========  ============================================================================
extract    features computed, cache file not written yet (the cache lock is held)
select     a selection computed and checked, not stored yet
evaluate   a cell's metrics computed, its record not written yet
write      any atomic write: temp file complete and synced, not renamed yet (detail:
           the destination path, e.g. ``*/records/*``, ``*/leaderboard.csv``)
=========  ============================================================================

``LBAL_PAUSE_AT=POINT[:GLOB][@N]`` makes the process print ``lbal-bench: paused at POINT
DETAIL (pid P)`` on stderr and sleep when it reaches POINT with a detail matching GLOB
(``fnmatch``; default ``*``) for the N-th time (default 1); a test then kills it with
SIGKILL. With ``LBAL_RESUME_WHEN=FILE`` the pause ends once FILE exists, so a test can
also hold a run at a point while another one works. Unset, a point costs one
environment lookup.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import time

PAUSE_SECONDS = 3600

_reached: dict[str, int] = {}


def pause_point(point: str, detail: object = "") -> None:
    """Sleep here if ``LBAL_PAUSE_AT`` names ``point``, its glob matches ``detail`` and
    this is the N-th such match in this process."""
    wanted = os.environ.get("LBAL_PAUSE_AT")
    if not wanted:
        return
    wanted, _, nth = wanted.partition("@")
    name, _, pattern = wanted.partition(":")
    if name != point or not fnmatch.fnmatch(str(detail), pattern or "*"):
        return
    _reached[wanted] = _reached.get(wanted, 0) + 1
    if _reached[wanted] != int(nth or 1):
        return
    where = f"{point} {detail}" if detail != "" else point
    print(f"lbal-bench: paused at {where} (pid {os.getpid()})", file=sys.stderr, flush=True)
    resume = os.environ.get("LBAL_RESUME_WHEN")
    deadline = time.monotonic() + PAUSE_SECONDS
    while time.monotonic() < deadline and not (resume and os.path.exists(resume)):
        time.sleep(0.05)
