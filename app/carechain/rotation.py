"""The rotation journal: which of a patient's records still need re-encrypting after someone lost
access to them (a revocation, a narrowed scope, a lapsed grant, a suspended provider).

A rotation is written here before it starts and cleared only when every record it covers is
re-encrypted, so one interrupted anywhere (a stopped chain, a closed tab, a crash) is resumed from
the page and finishes. Records are numbered in the order they were indexed, so "records up to
number N in these categories" names exactly what the reader could have held keys for; the new
versions a rotation writes get higher numbers and are never rotated twice.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from app.carechain.locks import named_lock
from app.carechain.records import Category, categories_in, categories_mask


@dataclass(frozen=True)
class PendingRotation:
    categories: list[Category]
    through: int  # the highest record number indexed while the reader still had access
    reason: str  # in words: "revoking 0x…", "narrowing 0x…"


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: the new entries, and entries it could not read (skipped)."""

    rotated: list
    skipped: list


class RotationJournal:
    """Pending rotations per patient, in one JSON file written atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def pending(self, patient: str) -> PendingRotation | None:
        entry = self._read().get(patient)
        if entry is None:
            return None
        return PendingRotation(categories_in(entry["categories"]), entry["through"], entry["reason"])

    def begin(self, patient: str, categories, through: int, reason: str) -> PendingRotation:
        """Records a rotation to do, merged with one still pending (wider scope, later number)."""
        with named_lock("rotation journal", self.path):
            entries = self._read()
            mask, reasons = categories_mask(categories), [reason]
            if patient in entries:
                mask |= entries[patient]["categories"]
                through = max(through, entries[patient]["through"])
                reasons.insert(0, entries[patient]["reason"])
            entries[patient] = {"categories": mask, "through": through, "reason": "; ".join(dict.fromkeys(reasons))}
            self._write(entries)
        return self.pending(patient)

    def finish(self, patient: str, done: PendingRotation) -> None:
        """Clears the patient's rotation, unless a wider one was begun meanwhile."""
        with named_lock("rotation journal", self.path):
            entries = self._read()
            if patient in entries and self.pending(patient) == done:
                del entries[patient]
                self._write(entries)

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _write(self, entries: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(entries, indent=1))
        os.replace(temporary, self.path)
