"""Result records: one JSON file per cell, written atomically, plus stored selections.

Layout of a results directory::

    records/<cell fingerprint>.json     one per (dataset, backbone, sampler, seed, budget, evaluator)
    selections/<selection key>.npz      selected indices (+ timing, labels seen), shared by evaluators

A record is valid when it parses, has the current schema version (older versions are
migrated when a migration exists), fits the schema (:class:`Record`: the four display
names, an integer seed and budget, every metric a finite number or a list of counts),
its fingerprint matches both its file name and the hash of its config, and its checksum
matches its content (so a hand-edited metric is caught, not shown on the board).
Anything else is reported as corrupt and recomputed (the bad file is kept beside it as
``*.corrupt``). Records are checked against the schema when written too.

A selection is valid when it loads, its checksum (over its key and content) matches,
and its indices pass the check a sampler's answer passes
(:func:`lbal_bench.contracts.selection_problem`: the budget's count, unique, inside the
pool); a bad one is set aside as ``<key>.corrupt`` and recomputed.

Several results directories (runs on other machines, submitted runs) merge into one list
of records with :func:`merge_results`: one record per fingerprint, and two records that
claim the same board cell with different settings are refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import numbers
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .atomic import atomic_write, atomic_write_text, remove_orphans
from .plugin_handle import fingerprint
from .contracts import selection_problem
from .errors import LbalError
from .guard import report
from .locks import locked
from .provenance import environment, now

if TYPE_CHECKING:
    from .cells import Cell

SCHEMA_VERSION = 2


def content_checksum(data: dict) -> str:
    """The hash of a record's content (a JSON-mode dict), everything but ``checksum`` itself."""
    return fingerprint({k: v for k, v in data.items() if k != "checksum"})


def _add_checksum(data: dict) -> dict:
    """Version 1 → 2: records gain a checksum; a version 1 record is trusted as it was."""
    return {**data, "checksum": content_checksum({**data, "schema_version": 2})}


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _add_checksum}
"""Upgrades of older records: ``MIGRATIONS[v]`` turns a version ``v`` record (a dict) into
a version ``v + 1`` one. Add one here whenever ``SCHEMA_VERSION`` grows, and old results
keep their place on the board."""


DISPLAY_KEYS = ("dataset", "backbone", "sampler", "evaluator")


def _is_count(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


def metric_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a stored metric, or None: a metric is a finite real number
    (a percentage) or a list of counts (a class histogram), never a bool, a string, an
    array or a nested structure."""
    if isinstance(value, list):
        return None if all(map(_is_count, value)) else "is a list that is not all counts (integers >= 0)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"is {type(value).__name__} {_short(value)}, not a number (or a list of counts)"
    if not np.isfinite(float(value)):
        return f"is {float(value)}, not a finite number"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integers(values: dict, least: dict[str, int]) -> dict:
    """``values`` when each key of ``least`` holds an integer (not a bool) at least that large."""
    for key, low in least.items():
        if key not in values:
            raise ValueError(f"no '{key}'")
        if not isinstance(values[key], int) or isinstance(values[key], bool) or values[key] < low:
            raise ValueError(f"'{key}' must be an integer >= {low}, got {values[key]!r}")
    return values


class Record(BaseModel):
    """The stored result of one cell."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int
    fingerprint: str
    config: dict[str, Any]
    display: dict[str, Any]  # names (str), "start" (str), "options" ({"sampler": {...}, "evaluator": {...}})
    uses_labels: bool
    metrics: dict[str, Any]
    selection: dict[str, Any]
    timings: dict[str, float]
    provenance: dict[str, Any]
    checksum: str = ""  # content_checksum of the rest, set by ResultStore.write

    @field_validator("config")
    @classmethod
    def _config(cls, config: dict) -> dict:
        return _integers(config, {"seed": 0, "budget": 1})

    @field_validator("display")
    @classmethod
    def _display(cls, display: dict) -> dict:
        missing = [k for k in DISPLAY_KEYS if not display.get(k) or not isinstance(display[k], str)]
        if missing:
            raise ValueError(f"no '{missing[0]}' name (a string)")
        return display

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, metrics: dict) -> dict:
        if not metrics:
            raise ValueError("no metrics")
        for name, value in metrics.items():
            problem = metric_problem(value)
            if problem:
                raise ValueError(f"metric '{name}' {problem}")
        return metrics

    @field_validator("selection")
    @classmethod
    def _selection(cls, selection: dict) -> dict:
        if not isinstance(selection.get("file"), str):
            raise ValueError("no 'file'")
        return _integers(selection, {"count": 0, "labels_seen": 0})

    def sealed(self) -> "Record":
        """This record with its checksum set."""
        return self.model_copy(update={"checksum": content_checksum(self.model_dump(mode="json"))})


class CorruptRecord(LbalError):
    """A record file that cannot be trusted: unreadable, edited, or misnamed."""


class IncompatibleRecord(CorruptRecord):
    """A record whose schema version this lbal-bench can neither read nor migrate."""


class CorruptSelection(LbalError):
    """A stored selection that cannot be trusted: unreadable, edited, or not a valid answer."""


def schema_problem(exc: ValidationError) -> str:
    """The first failure of a record's schema check, as ``field.path: message``."""
    error = exc.errors()[0]
    message = error["msg"].removeprefix("Value error, ")
    return f"{'.'.join(map(str, error['loc']))}: {message}"


def check_record(record: Record, name: str | None = None) -> str | None:
    """Why ``record`` cannot be trusted, or None when it is sound."""
    if record.schema_version != SCHEMA_VERSION:
        return f"schema version {record.schema_version}, expected {SCHEMA_VERSION}"
    if name is not None and record.fingerprint != name:
        return f"fingerprint {record.fingerprint} does not match the file name"
    if fingerprint(record.config) != record.fingerprint:
        return "fingerprint does not match its config (record was edited)"
    if record.checksum != content_checksum(record.model_dump(mode="json")):
        return "checksum does not match its content (record was edited)"
    return None


def migrate(data: dict, path: Path) -> dict:
    """``data`` upgraded to ``SCHEMA_VERSION``; ``IncompatibleRecord`` when that is impossible."""
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise CorruptRecord(f"corrupt record {path}: schema_version is missing or not an integer")
    if version > SCHEMA_VERSION:
        raise IncompatibleRecord(
            f"incompatible record {path}: schema version {version} is newer than this lbal-bench "
            f"reads ({SCHEMA_VERSION}); upgrade lbal-bench"
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise IncompatibleRecord(
                f"incompatible record {path}: schema version {version} has no migration to {SCHEMA_VERSION}"
            )
        data = {**MIGRATIONS[version](data), "schema_version": version + 1}
        version += 1
    return data


def selection_checksum(key: str, indices: np.ndarray, seconds: float, labels_seen: int, info: str) -> str:
    """The hash of a stored selection: its key (so a file copied under another key is
    caught) and its content (``info`` as stored: JSON text)."""
    digest = hashlib.sha256(f"{key}:{float(seconds)!r}:{int(labels_seen)}:{info}:".encode())
    digest.update(np.ascontiguousarray(indices, dtype="<i8").tobytes())
    return digest.hexdigest()[:24]


def read_selection(path: Path, budget: int | None = None, pool_size: int | None = None) -> dict:
    """The sound selection stored at ``path`` (``{"indices", "seconds", "labels_seen",
    "info"}``); ``CorruptSelection`` naming the file otherwise, ``FileNotFoundError`` if
    absent. ``budget`` and ``pool_size``, when known, are checked as for a sampler's answer
    (a selection written before checksums existed is checked that way only)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise
    except Exception as exc:  # BadZipFile, EOFError, ValueError, OSError …: whatever a damaged file raises
        raise CorruptSelection(f"corrupt selection {path}: unreadable ({type(exc).__name__}: {exc})") from None

    def corrupt(problem: str) -> CorruptSelection:
        return CorruptSelection(f"corrupt selection {path}: {problem}")

    missing = [name for name in ("indices", "seconds", "labels_seen") if name not in arrays]
    if missing:
        raise corrupt(f"no '{missing[0]}' array")
    indices, seconds, seen = arrays["indices"], arrays["seconds"], arrays["labels_seen"]
    if seconds.shape or seen.shape or not np.issubdtype(seen.dtype, np.integer) or not np.isfinite(seconds):
        raise corrupt("'seconds' or 'labels_seen' is not a number")
    info_text = str(arrays.get("info", "{}"))
    try:
        info = json.loads(info_text)
    except ValueError:
        raise corrupt("'info' is not JSON") from None
    if indices.ndim == 1 and pool_size is None and np.issubdtype(indices.dtype, np.integer) and (indices < 0).any():
        raise corrupt(f"holds index {indices[indices < 0][0]}, which is negative")
    count = len(indices) if budget is None and indices.ndim == 1 else budget
    size = pool_size if pool_size is not None else np.iinfo(np.int64).max
    problem = selection_problem(indices, count, SimpleNamespace(features=range(size), labeled=()))
    if problem:
        raise corrupt(problem.replace("returned ", "holds ", 1).replace("must return", "must hold", 1))
    indices = indices.astype(np.int64)
    if "checksum" in arrays and str(arrays["checksum"]) != selection_checksum(path.stem, indices, seconds, seen, info_text):
        raise corrupt("checksum does not match its content (selection was edited)")
    return {"indices": indices, "seconds": float(seconds), "labels_seen": int(seen), "info": info}


def read_record(path: Path) -> Record:
    """The sound record stored at ``path`` (migrated if older); ``CorruptRecord`` or
    ``IncompatibleRecord`` naming the file otherwise, ``FileNotFoundError`` if absent."""
    raw = Path(path).read_bytes()
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise CorruptRecord(f"corrupt record {path}: invalid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorruptRecord(f"corrupt record {path}: not a JSON object")
    try:
        record = Record.model_validate(migrate(data, path))
    except ValidationError as exc:
        raise CorruptRecord(f"corrupt record {path}: {schema_problem(exc)}") from None
    problem = check_record(record, Path(path).stem)
    if problem:
        raise CorruptRecord(f"corrupt record {path}: {problem}")
    return record


class ResultStore:
    """A results directory."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.records = self.root / "records"
        self.selections = self.root / "selections"
        self.problems: list[str] = []  # corrupt selections set aside, for the run's warnings

    def record_path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def new_record(self, cell: Cell, selection: dict, metrics: dict, evaluation_s: float, suite: str) -> Record:
        """The record of ``cell`` evaluated on ``selection`` (``indices``, ``seconds``,
        ``labels_seen`` and ``info``, as stored): its config and names, whether its chain
        read labels, the evaluator's ``metrics``, timings and provenance."""
        return Record(
            schema_version=SCHEMA_VERSION,
            fingerprint=cell.fingerprint,
            config=cell.config(),
            display=cell.display(),
            uses_labels=cell.selection.uses_labels,
            metrics={k: (float(v) if np.isscalar(v) else list(v)) for k, v in metrics.items()},
            selection={
                "file": str(self.selection_path(cell.selection_key()).relative_to(self.root)),
                "count": int(len(selection["indices"])),
                "labels_seen": selection["labels_seen"],
                **({"info": selection["info"]} if selection.get("info") else {}),
            },
            timings={"selection_s": selection["seconds"], "evaluation_s": evaluation_s},
            provenance={
                **environment(),
                "created": now(),
                "suite": suite,
                "plugins": {
                    kind: {"name": p.spec.name, "distribution": p.info.distribution, "version": p.info.version}
                    for kind, p in (("dataset", cell.dataset), ("backbone", cell.backbone),
                                    ("sampler", cell.sampler), ("evaluator", cell.evaluator))
                },
            },
        )

    def load(self, key: str) -> tuple[Record | None, str | None]:
        """``(record, None)`` if a sound record exists, ``(None, problem)`` if corrupt, else ``(None, None)``."""
        try:
            return read_record(self.record_path(key)), None
        except FileNotFoundError:
            return None, None
        except CorruptRecord as exc:
            return None, str(exc)

    def prepare(self) -> None:
        """Before a run: make sure the directory can be written (one clear error now, not
        after hours of work) and delete temp files left in it by killed runs on this host."""
        for directory in (self.records, self.selections):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                tempfile.TemporaryFile(dir=directory).close()
            except OSError as exc:
                raise LbalError(f"cannot write {directory}: {exc.strerror}") from None
            remove_orphans(directory)

    def lock(self, key: str, wait: bool = True):
        """A context manager holding the inter-process lock of one unit of work in this
        directory (a selection, a cell, a group of cells: by its key); it gives False
        instead of waiting when ``wait`` is False and another process holds it."""
        return locked(self.root / ".locks" / f"{key}.lock", wait)

    def quarantine(self, key: str) -> None:
        """Move a corrupt record aside (never delete what a user may want to inspect); a
        record that another process has rewritten soundly meanwhile stays."""
        path = self.record_path(key)
        with self.lock(key):
            if self.load(key)[1] is not None:
                os.replace(path, path.with_suffix(".corrupt"))

    def write(self, record: Record) -> Path:
        """Write ``record`` atomically under its fingerprint, sealed with its checksum; a
        record that does not fit the schema is refused (``CorruptRecord``), never stored."""
        path = self.record_path(record.fingerprint)
        try:
            sealed = Record.model_validate(record.model_dump()).sealed()
        except ValidationError as exc:
            raise CorruptRecord(f"refusing to write record {path}: {schema_problem(exc)}") from None
        atomic_write_text(path, sealed.model_dump_json(indent=2) + "\n")
        return path

    # --- selections ------------------------------------------------------------------

    def selection_path(self, key: str) -> Path:
        return self.selections / f"{key}.npz"

    def load_selection(self, key: str, budget: int | None = None, pool_size: int | None = None) -> dict | None:
        """``{"indices", "seconds", "labels_seen", "info"}`` of a sound stored selection, or
        None: when there is none, and when it is corrupt (see :func:`read_selection`), which
        is then moved aside as ``<key>.corrupt`` and named in ``problems``, to be recomputed.
        ``info`` is what the sampler said of its choice (``Pool.info``, ``{}`` when nothing)."""
        path = self.selection_path(key)
        try:
            return read_selection(path, budget, pool_size)
        except FileNotFoundError:
            return None
        except CorruptSelection as exc:
            try:  # a sound file another process wrote meanwhile is merely recomputed: the same picks
                os.replace(path, path.with_suffix(".corrupt"))
            except FileNotFoundError:
                pass
            self.problems.append(f"{exc}; recomputing")
            report(self.problems[-1])  # from a time-limit worker: at once, in case it is stopped later
            return None

    def save_selection(self, key: str, indices: np.ndarray, seconds: float, labels_seen: int,
                       info: dict | None = None) -> Path:
        """Store a selection atomically, with its checksum (``info``: plain JSON data, see ``Pool.info``)."""
        buffer = io.BytesIO()
        indices, info_text = np.asarray(indices).astype(np.int64), json.dumps(info or {}, sort_keys=True)
        np.savez(buffer, indices=indices, seconds=seconds, labels_seen=labels_seen, info=info_text,
                 checksum=selection_checksum(key, indices, seconds, labels_seen, info_text))
        path = self.selection_path(key)
        atomic_write(path, lambda out: out.write(buffer.getvalue()))
        return path


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    """``path: a ≠ b`` for the first place where two JSON-like values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}" if where else str(key))
    return f"{where}: {json.dumps(a, default=str)} ≠ {json.dumps(b, default=str)}"


def _board_cell(record: Record) -> tuple:
    """What a record stands for on the leaderboard: display names, how its chain started,
    its non-default options, seed and budget (rows that differ in start or options are
    separate rows, so two such runs merge side by side)."""
    d, config = record.display, record.config
    protocol = json.dumps([d.get("start"), d.get("options")], sort_keys=True, default=str)
    return (d["dataset"], d["backbone"], d["sampler"], d["evaluator"], int(config["seed"]), int(config["budget"]),
            protocol)


def merge_results(roots: Sequence[Path]) -> tuple[list[Record], list[str]]:
    """Every sound record of the results directories ``roots``, once per fingerprint (the
    first one found wins), and a problem line for every corrupt record and every repeat of
    a fingerprint with other metrics (both are left out).

    Raises ``LbalError`` for a directory without records, a record whose schema version is
    incompatible, and two records that claim the same board cell with different settings
    (which would silently mix two configurations in one mean).
    """
    kept: dict[str, tuple[Path, Record]] = {}
    cells: dict[tuple, tuple[Path, Record]] = {}
    problems: list[str] = []
    for root in roots:
        paths = sorted(ResultStore(root).records.glob("*.json"))
        if not paths:
            raise LbalError(f"{root}: no result records found (expected {Path(root) / 'records'}/*.json)")
        for path in paths:
            try:
                record = read_record(path)
            except IncompatibleRecord:
                raise
            except CorruptRecord as exc:
                problems.append(str(exc))
                continue
            if record.fingerprint in kept:
                first, earlier = kept[record.fingerprint]
                if earlier.metrics != record.metrics:
                    problems.append(
                        f"{path} repeats {first} with other metrics "
                        f"({_first_difference(earlier.metrics, record.metrics)})"
                    )
                continue
            cell = _board_cell(record)
            if cell in cells:
                other, earlier = cells[cell]
                raise LbalError(
                    f"{other} and {path} are the same board cell ({' · '.join(cell[:4])}, seed {cell[4]}, "
                    f"budget {cell[5]}) with different settings ({_first_difference(earlier.config, record.config)}); "
                    "build the board with `lbal-bench run SUITE` (its current cells only), give them distinct "
                    "labels, or remove one"
                )
            kept[record.fingerprint] = cells[cell] = (path, record)
    return [record for _, record in kept.values()], problems
