"""A results directory that cannot be written (read-only, full disk, not a directory)
gives one clear error line, and nothing half-written stays behind.

Read-only and full file systems are real: the run happens inside a private mount
namespace (``unshare --user --map-root-user --mount``) on a read-only bind mount or a
tiny tmpfs, since tests run as root, where ``chmod`` stops no write. Without user
namespaces those tests are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lbal_process as lp
from lbal_bench.atomic import atomic_write_text, remove_orphans
from lbal_bench.store import ResultStore, read_record
from test_kill_resume import CELLS, SUITE


# Runs inside the namespace: mount, run lbal-bench, list what is left, print it as JSON.
DRIVER = """
import json, os, subprocess, sys
mount, target, lbal, *args = sys.argv[1:]
subprocess.run(mount.format(target=target).split(), check=True)
done = subprocess.run([lbal, *args], capture_output=True, text=True)
files = {}
for folder, _, names in os.walk(target):
    for name in names:
        path = os.path.join(folder, name)
        files[os.path.relpath(path, target)] = open(path, "rb").read().decode("latin-1")
print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "files": files}))
"""


def namespaces_unavailable() -> str:
    """Why no private mount namespace can be made here ('' when one can)."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", "/mnt"],
                           capture_output=True, text=True)
    return "" if probe.returncode == 0 else f"cannot mount in a user namespace: {probe.stderr.strip()}"


UNAVAILABLE = namespaces_unavailable()
needs_namespace = pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)


def in_namespace(mount: str, target: Path, *args: str) -> dict:
    """Mount ``target`` with ``mount`` (a command, ``{target}`` filled in) in a private
    namespace, run ``lbal-bench ARGS`` there; its result and the files left in target."""
    driver = target.parent / "driver.py"
    driver.write_text(DRIVER)
    done = subprocess.run(["unshare", "-rm", sys.executable, str(driver), mount, str(target), lp.LBAL, *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_results_directory_under_a_regular_file(cli, write_suite, tmp_path):
    Path("taken").write_text("a file, not a directory")
    result = cli("run", str(write_suite(SUITE)), "--out", "taken/results")
    assert result.exit_code == 2
    assert result.stderr == "error: cannot write taken/results/records: Not a directory\n"
    assert Path("taken").read_text() == "a file, not a directory"


@pytest.mark.slow
@needs_namespace
def test_read_only_results_directory(write_suite, tmp_path):
    suite = str(write_suite(SUITE))
    out = tmp_path / "results"
    first = lp.run("run", suite, "--out", str(out), "--board", str(tmp_path / "board"), "--only", "sampler=random")
    assert first.returncode == 0, first.stderr
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    done = in_namespace("mount --bind -o ro {target} {target}", out, "run", suite, "--out", str(out), "--board", str(tmp_path / "b2"))
    assert done["rc"] == 2
    assert done["stderr"] == f"error: cannot write {out}/records: Read-only file system\n"
    assert {name: data.encode("latin-1") for name, data in done["files"].items()} == before
    assert not (tmp_path / "b2").exists()


@pytest.mark.slow
@needs_namespace
def test_full_disk_stops_with_one_error_and_leaves_only_whole_files(write_suite, tmp_path):
    suite = str(write_suite(SUITE))
    out = tmp_path / "results"
    out.mkdir()
    done = in_namespace("mount -t tmpfs -o size=40k tmpfs {target}", out, "run", suite, "--out", str(out))
    assert done["rc"] == 2
    assert re.fullmatch(
        rf"error: cannot write {out}/(records/\w{{24}}\.json|selections/\w{{24}}\.npz): No space left on device\n",
        done["stderr"],
    ), done["stderr"]
    files = done["files"]
    assert not [name for name in files if name.endswith(".tmp")]
    records = [name for name in files if name.startswith("records/")]
    assert 0 < len(records) < CELLS  # it stopped part-way
    for name in records:  # every record left is whole and sound
        copy = tmp_path / "copy" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(files[name], encoding="latin-1")
        assert read_record(copy).fingerprint == copy.stem
    for name in (name for name in files if name.startswith("selections/")):
        copy = tmp_path / "copy" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(files[name], encoding="latin-1")
        assert ResultStore(tmp_path / "copy").load_selection(copy.stem) is not None


def test_temp_files_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    atomic_write_text(tmp_path / "kept.json", "{}")
    host = os.uname().nodename.replace(".", "_")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f".a.json.x1y2z3.{host}.{int(dead.stdout)}.tmp"
    live = tmp_path / f".b.json.x1y2z3.{host}.{os.getpid()}.tmp"
    elsewhere = tmp_path / f".c.json.x1y2z3.otherhost.{int(dead.stdout)}.tmp"
    for path in (orphan, live, elsewhere):
        path.write_text("half")
    assert remove_orphans(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, elsewhere.name, "kept.json"])


@pytest.mark.slow
@needs_namespace
def test_read_only_feature_cache_serves_what_it_has_and_names_what_it_cannot_write(write_suite, tmp_path):
    suite, cache = str(write_suite(SUITE)), tmp_path / "cache"
    filled = lp.run("run", suite, "--cache-dir", str(cache), "--out", str(tmp_path / "first"), "--only", "seed=0")
    assert filled.returncode == 0, filled.stderr
    done = in_namespace("mount --bind -o ro {target} {target}", cache,
                        "run", suite, "--cache-dir", str(cache), "--out", str(tmp_path / "second"), "--only", "seed=0")
    assert (done["rc"], done["stderr"]) == (0, "")  # features already cached: read-only is fine

    empty = tmp_path / "empty"
    (empty / "features").mkdir(parents=True)
    done = in_namespace("mount --bind -o ro {target} {target}", empty,
                        "run", suite, "--cache-dir", str(empty), "--out", str(tmp_path / "third"))
    assert done["rc"] == 2
    assert re.fullmatch(rf"error: cannot write {empty}/features/\w{{24}}\.npy\.lock: Read-only file system\n",
                        done["stderr"]), done["stderr"]
    assert done["files"] == {}
