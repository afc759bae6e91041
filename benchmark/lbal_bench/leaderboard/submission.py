"""Submitting a run to the published board: strict checks, then a copy of its records and
selections into ``leaderboard/results/<suite>/``, where CI rebuilds the board from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write
from ..errors import LbalError
from ..store import Record, ResultStore, merge_results, read_selection


def _strict(roots: list[Path]) -> list[Record]:
    records, problems = merge_results(roots)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise LbalError(problems[0] + more)
    return records


def check_results(results: Path) -> list[Record]:
    """Every record of a results directory, which must all be sound, as ``run`` checks
    them: a corrupt record, an incompatible schema, two settings under one label, or a
    selection file that is missing, unreadable, edited or not a valid answer for its
    record's budget is an ``LbalError`` naming the file."""
    records = _strict([results])
    store = ResultStore(results)
    checked: set[Path] = set()
    for record in records:
        relative = Path(record.selection["file"])
        if relative.parent != Path("selections") or relative.suffix != ".npz":
            raise LbalError(
                f"{store.record_path(record.fingerprint)}: selection file '{relative}' is not selections/*.npz"
            )
        path = store.root / relative
        try:
            selection = read_selection(path, budget=record.config["budget"])
        except FileNotFoundError:
            raise LbalError(f"{path}: selection of record {record.fingerprint} is missing") from None
        if len(selection["indices"]) != record.selection["count"]:
            raise LbalError(
                f"{path}: {len(selection['indices'])} indices, but record {record.fingerprint} "
                f"says {record.selection['count']}"
            )
        checked.add(path)
    for path in sorted(set(store.selections.glob("*.npz")) - checked):  # steps of chains, initial pools
        read_selection(path)
    return records


@dataclass(frozen=True)
class Submission:
    """Where a submission went and how many of its records were new there."""

    destination: Path
    added: int
    present: int


def submit(results: Path, board_results: Path, name: str | None = None) -> Submission:
    """Check ``results`` and copy its records and selections into ``board_results/<name>``
    (``name``: the suite its records come from). The records already there must agree
    with the new ones: same labels, same settings."""
    records = check_results(results)
    if name is None:
        suites = sorted({str(r.provenance.get("suite") or "") for r in records})
        if len(suites) != 1 or not suites[0]:
            raise LbalError(f"{results}: records come from suites {suites}; name the board with --name")
        name = suites[0]
    if Path(name).name != name or name in (".", ".."):
        raise LbalError(f"{results}: board name '{name}' is not a plain directory name")
    source, destination = ResultStore(results), ResultStore(Path(board_results) / name)
    if any(destination.records.glob("*.json")):
        _strict([destination.root, source.root])
    added = 0
    for record in records:
        if destination.record_path(record.fingerprint).exists():
            continue
        record_file = source.record_path(record.fingerprint).relative_to(source.root)
        for relative in (record_file, Path(record.selection["file"])):
            data = (source.root / relative).read_bytes()
            atomic_write(destination.root / relative, lambda handle: handle.write(data))
        added += 1
    return Submission(destination.root, added, len(records) - added)
