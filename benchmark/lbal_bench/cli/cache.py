"""``lbal-bench cache ls|rm``: list and delete cached features (and ``select``'s folder scan records)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..errors import LbalError
from ..features import FeatureCache
from ..imagefolder import RECORDS, remove_scan_records, scan_records
from .common import console, plural

NAME = "cache"

app = typer.Typer(help="List (ls) or delete (rm) cached features.", no_args_is_help=True)

CACHE_DIR = typer.Option(None, "--cache-dir", help="Feature cache [default: $LBAL_CACHE_DIR or the user cache].")


@app.command("ls")
def ls(cache_dir: Optional[Path] = CACHE_DIR) -> None:
    """List cached features: key, dataset, backbone, split, shape, dtype, size; then how
    many folder scan records `select` keeps."""
    cache = FeatureCache(cache_dir)
    entries = cache.entries()
    table = Table("key", "dataset", "backbone", "split", "shape", "dtype", "MB", "created")
    for entry in entries:
        names = entry.get("names", {})
        shape = " x ".join(map(str, entry["shape"])) if "shape" in entry else f"partial: {entry.get('partial', '?')} shards"
        dataset = names.get("dataset", "?") + (f" ({Path(entry['source']).name})" if entry.get("source") else "")
        table.add_row(entry["key"], dataset, names.get("backbone", "?"), entry.get("split", "?"),
                      shape, entry.get("dtype", "?"), f"{entry['bytes'] / 1e6:,.1f}", entry.get("created", ""))
    console.print(table)
    console.print(f"{plural(len(entries), 'entry', 'entries')}, {sum(e['bytes'] for e in entries) / 1e6:,.1f} MB in {cache.root}")
    records = scan_records(cache.root.parent)
    if records:
        console.print(f"{plural(len(records), 'folder scan')} (which images `select` can read) in {cache.root.parent / RECORDS}",
                      markup=False)


@app.command("rm")
def rm(
    keys: List[str] = typer.Argument(None, help="Keys (or unique key prefixes) from `cache ls`."),
    all_: bool = typer.Option(False, "--all", help="Delete every entry, and the folder scan records of "
                              "`select` (folders/ beside features/)."),
    cache_dir: Optional[Path] = CACHE_DIR,
) -> None:
    """Delete cached features by key, or all of them and the folder scan records."""
    cache = FeatureCache(cache_dir)
    known = [e["key"] for e in cache.entries()]
    if all_:
        chosen = known
    elif not keys:
        raise LbalError("cache rm: name the keys to delete (see `lbal-bench cache ls`) or pass --all")
    else:
        chosen = []
        for key in keys:
            matches = [k for k in known if k.startswith(key)]
            if len(matches) != 1:
                problem = "matches no entry" if not matches else f"matches {len(matches)} entries"
                raise LbalError(f"cache rm: key '{key}' {problem} in {cache.root}")
            chosen.append(matches[0])
    for key in chosen:
        cache.remove(key)
    console.print(f"deleted {plural(len(chosen), 'entry', 'entries')} from {cache.root}")
    if all_:
        removed = remove_scan_records(cache.root.parent)
        console.print(f"deleted {plural(removed, 'folder scan')} from {cache.root.parent / RECORDS}", markup=False)
