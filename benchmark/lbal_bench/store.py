"""Result records: one JSON file per cell, written atomically, plus stored selections.

Layout of a results directory::

    records/<cell fingerprint>.json     one per (dataset, backbone, sampler, seed, budget, evaluator)
    selections/<selection key>.npz      selected indices (+ timing, labels seen), shared by evaluators

A record is valid when it parses, has the current schema version, and its fingerprint
matches both its file name and the hash of its config. Anything else is reported as
corrupt and recomputed (the bad file is kept beside it as ``*.corrupt``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from .atomic import atomic_write, atomic_write_text
from .cells import fingerprint

SCHEMA_VERSION = 1


class Record(BaseModel):
    """The stored result of one cell."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int
    fingerprint: str
    config: dict[str, Any]
    display: dict[str, str]
    uses_labels: bool
    metrics: dict[str, Any]
    selection: dict[str, Any]
    timings: dict[str, float]
    provenance: dict[str, Any]


def check_record(record: Record, name: str | None = None) -> str | None:
    """Why ``record`` cannot be trusted, or None when it is sound."""
    if record.schema_version != SCHEMA_VERSION:
        return f"schema version {record.schema_version}, expected {SCHEMA_VERSION}"
    if name is not None and record.fingerprint != name:
        return f"fingerprint {record.fingerprint} does not match the file name"
    if fingerprint(record.config) != record.fingerprint:
        return "fingerprint does not match its config (record was edited)"
    return None


class ResultStore:
    """A results directory."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.records = self.root / "records"
        self.selections = self.root / "selections"

    def record_path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def load(self, key: str) -> tuple[Record | None, str | None]:
        """``(record, None)`` if a sound record exists, ``(None, problem)`` if corrupt, else ``(None, None)``."""
        path = self.record_path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, None
        try:
            record = Record.model_validate_json(text)
        except ValidationError as exc:
            return None, f"corrupt record {path}: {exc.errors()[0]['msg']}"
        problem = check_record(record, key)
        return (None, f"corrupt record {path}: {problem}") if problem else (record, None)

    def quarantine(self, key: str) -> None:
        """Move a corrupt record aside (never delete what a user may want to inspect)."""
        path = self.record_path(key)
        if path.exists():
            os.replace(path, path.with_suffix(".corrupt"))

    def write(self, record: Record) -> Path:
        """Write ``record`` atomically under its fingerprint."""
        path = self.record_path(record.fingerprint)
        atomic_write_text(path, record.model_dump_json(indent=2) + "\n")
        return path

    def all(self) -> tuple[list[Record], list[str]]:
        """Every sound record, and a problem line for every unsound one."""
        records, problems = [], []
        for path in sorted(self.records.glob("*.json")):
            record, problem = self.load(path.stem)
            if record is not None:
                records.append(record)
            else:
                problems.append(problem)
        return records, problems

    # --- selections ------------------------------------------------------------------

    def selection_path(self, key: str) -> Path:
        return self.selections / f"{key}.npz"

    def load_selection(self, key: str) -> dict | None:
        """``{"indices", "seconds", "labels_seen"}`` of a stored selection, or None."""
        path = self.selection_path(key)
        try:
            with np.load(path) as data:
                return {
                    "indices": data["indices"].astype(np.int64),
                    "seconds": float(data["seconds"]),
                    "labels_seen": int(data["labels_seen"]),
                }
        except (FileNotFoundError, OSError, KeyError, ValueError):
            return None

    def save_selection(self, key: str, indices: np.ndarray, seconds: float, labels_seen: int) -> Path:
        """Store a selection atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, indices=indices.astype(np.int64), seconds=seconds, labels_seen=labels_seen)
        path = self.selection_path(key)
        atomic_write(path, lambda out: out.write(buffer.getvalue()))
        return path
