"""The rotation journal: which of a patient's records still need re-encrypting after someone lost
access to them (a revocation, a narrowed scope, a lapsed grant, a suspended provider).

A rotation is written here before it starts and cleared only when every record it covers is
re-encrypted, so one interrupted anywhere (a stopped chain, a closed tab, a crash) is resumed from
the page and finishes. Records are numbered in the order they were indexed, so "records up to
number N in these categories" names exactly what the reader could have held keys for; the new
versions a rotation writes get higher numbers and are never rotated twice.

Why a record was re-encrypted ("revoking 0x…") is kept off chain, beside the journal: the chain
only says that the patient replaced it. The audit trail and a record's history read it from there.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from app.carechain import crypto, envelope
from app.carechain import jsonfile
from app.carechain.errors import IntegrityError
from app.carechain.locks import named_lock
from app.carechain.model import RecordEntry, checksum
from app.carechain.records import Category, categories_in, categories_mask


@dataclass(frozen=True)
class PendingRotation:
    categories: list[Category]
    through: int  # the highest record number indexed while the reader still had access
    reason: str  # in words: "revoking 0x…", "narrowing 0x…'s grant", "the lapsed grant of 0x…"


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: the new entries, and entries it could not read (skipped)."""

    rotated: list
    skipped: list


class RotationJournal:
    """Pending rotations per patient, in one JSON file written atomically; and, in another beside
    it, the reason of each finished rotation per new version written."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.reasons_path = self.path.with_name("rotation-reasons.json")

    def pending(self, patient: str) -> PendingRotation | None:
        entry = jsonfile.read(self.path).get(patient)
        if entry is None:
            return None
        return PendingRotation(categories_in(entry["categories"]), entry["through"], entry["reason"])

    def begin(self, patient: str, categories, through: int, reason: str) -> PendingRotation:
        """Records a rotation to do, merged with one still pending (wider scope, later number)."""
        with named_lock("rotation journal", self.path):
            entries = jsonfile.read(self.path)
            mask, reasons = categories_mask(categories), [reason]
            if patient in entries:
                mask |= entries[patient]["categories"]
                through = max(through, entries[patient]["through"])
                reasons.insert(0, entries[patient]["reason"])
            entries[patient] = {"categories": mask, "through": through, "reason": " and ".join(dict.fromkeys(reasons))}
            jsonfile.write(self.path, entries)
        return self.pending(patient)

    def finish(self, patient: str, done: PendingRotation) -> None:
        """Clears the patient's rotation, unless a wider one was begun meanwhile."""
        with named_lock("rotation journal", self.path):
            entries = jsonfile.read(self.path)
            if patient in entries and self.pending(patient) == done:
                del entries[patient]
                jsonfile.write(self.path, entries)

    def keep_reason(self, patient: str, digests: list[bytes], reason: str) -> None:
        """Remembers that the versions `digests` were written by a rotation for `reason`."""
        if not digests:
            return
        with named_lock("rotation reasons", self.reasons_path):
            reasons = jsonfile.read(self.reasons_path)
            reasons.setdefault(patient, {}).update((digest.hex(), reason) for digest in digests)
            jsonfile.write(self.reasons_path, reasons)

    def reasons(self, patient: str) -> dict[str, str]:
        """The reasons of the patient's finished rotations: new version's digest (hex) -> reason."""
        return jsonfile.read(self.reasons_path).get(patient, {})


class RotationFlows:
    """Flows of `CareChain` (see flows.py)."""

    def rotate(self, patient: LocalAccount, categories: Iterable, reason: str) -> Rotation:
        """Re-encrypts the patient's current records in `categories` indexed so far (those someone
        who lost access could hold keys for). Journaled first, so `resume_rotation` finishes it if
        it is interrupted anywhere."""
        if not categories:
            return Rotation([], [])
        through = self.participant(patient.address).record_count
        self.journal.begin(patient.address, categories, through, reason)
        return self.resume_rotation(patient)

    def pending_rotation(self, patient: str) -> PendingRotation | None:
        return self.journal.pending(checksum(patient))

    def resume_rotation(self, patient: LocalAccount) -> Rotation:
        """Finishes the patient's journaled rotation: each current record in scope is re-encrypted
        for the patient and everyone who may read its category now, indexed as the old entry's
        successor (same signature and creation time; disputed if it was), and the old ciphertext
        unpinned; then the node's garbage collection deletes it. Entries that cannot be read are
        skipped. The rotation's reason is kept for each new version written."""
        pending = self.journal.pending(patient.address)
        if pending is None:
            return Rotation([], [])
        mask = categories_mask(pending.categories)
        readers = {category: {patient.address} | self.readers(patient.address, category)
                   for category in pending.categories}
        rotated, skipped, written_before = [], [], []
        with self._storage_lock(patient.address):
            for entry in self.records(patient.address, 1, pending.through):
                if not mask >> entry.category & 1:
                    continue
                if entry.superseded_by:
                    successor = self._rotated_successor(patient.address, entry, pending.through)
                    if successor:  # an interrupted run indexed it, but may not have finished with it
                        written_before.append(successor.digest)
                        self._carry_dispute(patient, entry, successor)
                        self.store.unpin(entry.digest)
                    continue
                try:
                    fields, payload, summary = self._open_as_patient(patient, entry)
                except IntegrityError:
                    skipped.append(entry)
                    continue
                data = self._encrypt(patient.key, b"rotation|" + entry.digest, fields, payload,
                                     readers[entry.category], summary)
                digest = self.store.put(data)
                new, _ = self._index(patient.address, digest, lambda: self.chain.transact(
                    patient, "supersedeRecord", patient.address, entry.digest, digest), replaces=entry)
                rotated.append(new)
                self._carry_dispute(patient, entry, new)
                self.store.unpin(entry.digest)
        self.journal.keep_reason(patient.address, [new.digest for new in rotated] + written_before, pending.reason)
        self.journal.finish(patient.address, pending)
        self.store.collect_garbage()
        self.unreadable += skipped
        return Rotation(rotated, skipped)

    def _carry_dispute(self, patient: LocalAccount, entry: RecordEntry, successor: RecordEntry) -> None:
        """Flags the new version of a disputed record too: a replacement starts undisputed on chain,
        and a re-encryption must not bring back a record the patient contests."""
        if entry.disputed and not successor.disputed:
            self.chain.transact(patient, "disputeRecord", successor.digest, True)

    def _rotated_successor(self, patient: str, entry: RecordEntry, through: int) -> RecordEntry | None:
        """The version that replaced `entry` if the patient wrote it after the rotation numbered
        `through` began: one an interrupted run of this rotation wrote."""
        if entry.superseded_by <= through:
            return None
        (successor,) = self.records(patient, entry.superseded_by, 1)
        return successor if successor.author == patient else None

    def _open_as_patient(self, patient: LocalAccount, entry: RecordEntry) -> tuple[dict, bytes, bytes]:
        """The header fields, sealed payload and summary of one of the patient's records, opened
        with the patient's key (IntegrityError for anything that is not such a record)."""
        header, ciphertext = envelope.decode(self.store.get(entry.digest))
        self._check_header(patient.address, entry, header)
        key = self._patient_key(patient, header)
        payload = crypto.open_sealed(key, header.nonce, ciphertext, header.associated_data())
        fields = dict(patient=header.patient, author=header.author, category=header.category,
                      created_at=header.created_at, version=max(header.version, envelope.VERSION))  # 3 stays redactable
        return fields, payload, self._summary_in(patient, patient.address, entry, key, header).to_bytes()
