"""A patient's records as people see them: each record once, in its current version, under the
number of its first version; and each record's history of versions.

The chain numbers every index entry, and a re-encryption or a correction is a new entry with a new
number that supersedes the old one. The event index links the versions of each record (see
index.py); the chain confirms, in one batch request, every entry a page shows.
"""

from dataclasses import dataclass

from app.carechain.model import RecordEntry, checksum


@dataclass(frozen=True)
class CurrentRecords:
    """One page of a patient's current records, newest record first."""

    entries: list[RecordEntry]  # confirmed by the chain
    total: int  # the patient's current records, as the event index counts them
    unconfirmed: int  # entries of the page the index holds and the chain does not: left out


@dataclass(frozen=True)
class RecordVersion:
    entry: RecordEntry
    change: str  # "added" (the first version), "re-encrypted" (by the patient) or "corrected" (by its author)
    reason: str | None = None  # why a re-encryption was made ("revoking 0x…"), when known


class VersionFlows:
    """Flows of `CareChain` (see flows.py)."""

    def current_records(self, patient: str, limit: int = 20, offset: int = 0) -> CurrentRecords:
        """`limit` of the patient's records after the first `offset`, newest first, each in its
        current version only: the event index says which, the chain confirms them in one batch."""
        patient = checksum(patient)
        index = self.indexed()
        listed = index.current_records(patient, limit, offset)
        entries = self.confirmed(patient, listed)
        return CurrentRecords(entries, index.current_record_count(patient), len(listed) - len(entries))

    def record_history(self, patient: str, digest: bytes) -> list[RecordVersion]:
        """Every version of the record that `digest` is a version of, oldest first, each confirmed
        by the chain; empty if the patient has no such record."""
        patient = checksum(patient)
        entries = self.confirmed(patient, self.indexed().versions(patient, digest))
        reasons = self.journal.reasons(patient)
        return [_version(entry, reasons) for entry in entries]


def _version(entry: RecordEntry, reasons: dict[str, str]) -> RecordVersion:
    """What wrote this version: only the patient re-encrypts (rotation); a provider corrects its own."""
    if entry.number == entry.origin:
        return RecordVersion(entry, "added")
    if entry.author == entry.patient:
        return RecordVersion(entry, "re-encrypted", reasons.get(entry.digest.hex()))
    return RecordVersion(entry, "corrected")

