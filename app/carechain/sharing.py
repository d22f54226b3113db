"""Sharing a record with parts removed: a patient cuts a redacted copy of a signed record (the
formats and checks are in redaction.py) and stores it as a record of its own in the category of
shared copies (Category.SHARED), sealed for itself and the providers it chooses among those who may
read shared copies. A provider granted shared copies alone reads those copies and never the
originals: that is what lets a patient show a discharge summary without its psychiatric history.

Writing: every record outside the vitals category is sealed in a version 3 envelope, with its
author's disclosable signature and the salt seed (`_disclosure_block`). Vitals records are not
redactable: a copy would enter charts and alerts, which read every vitals record in a period.
Reading: `_open` (reading.py) hands a copy to `_open_copy`, which verifies it against its
original author's signature; the reader is told how many elements the patient withheld.
"""

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from app.carechain import crypto, envelope, redaction
from app.carechain.errors import IntegrityError, InvalidInput
from app.carechain.model import OpenedRecord, RecordEntry, checksum
from app.carechain.records import Category, Record
from app.carechain.summaries import Summary, open_summary


class RedactionFlows:
    """Flows of `CareChain` (see flows.py)."""

    def disclosable_elements(self, patient: LocalAccount, digest: bytes) -> list[redaction.Disclosure]:
        """The parts of one of the patient's records a copy may withhold, in the record's order,
        each with its `path` and a `label` ("section: Psychiatric history")."""
        return list(self.redactable_record(patient, digest).disclosable.disclosures)

    def share_recipients(self, patient: str) -> set[str]:
        """Who may receive a copy: whoever may read the patient's shared copies now."""
        patient = checksum(patient)
        return self.readers(patient, Category.SHARED) - {patient}

    def share_redacted(self, patient: LocalAccount, digest: bytes, withheld, recipients=None) -> RecordEntry:
        """Stores a copy of one of the patient's records without the elements at the paths
        `withheld`, among the shared copies, sealed for the patient and `recipients` (default:
        everyone who may read shared copies now). The same copy for the same recipients is stored once."""
        opened = self.redactable_record(patient, digest)
        category = Category.SHARED
        readers = self.share_recipients(patient.address)
        chosen = readers if recipients is None else {checksum(r, "recipient address") for r in recipients}
        if chosen - readers:
            raise InvalidInput(f"{', '.join(sorted(chosen - readers))} may not read your shared copies now: "
                               "give them access to shared copies first")
        if not chosen:
            raise InvalidInput("choose at least one doctor or hospital to share the copy with" if readers else
                               "nobody may read your shared copies now: give a doctor or hospital access to "
                               "shared copies first")
        copy = opened.disclosable.cut(set(withheld))
        shows_file = any(disclosure.path == redaction.ATTACHMENT for disclosure in copy.disclosures)
        attachment = opened.record.attachment if shows_file else b""
        verified = redaction.verify_copy(self.domain, copy, attachment)
        content, created_at = copy.to_json(), opened.record.created_at  # the original's time: a retry seals the same
        body = envelope.body_of(content, attachment)
        signature = crypto.sign_record(self.domain, patient.key, patient.address, patient.address, int(category),
                                       created_at, keccak(body))
        fields = dict(patient=patient.address, author=patient.address, category=int(category), created_at=created_at)
        label = b"redacted-copy|" + keccak(envelope.canonical_json({**fields, "body": keccak(body).hex()}))
        payload, _ = envelope.pack_payload(signature, content, attachment)
        data = self._encrypt(patient.key, label, fields, payload, {patient.address} | chosen,
                             Summary.of(verified.record).to_bytes())
        return self._store_record(patient, patient.address, category, data)

    def redactable_record(self, patient: LocalAccount, digest: bytes) -> OpenedRecord:
        """One of the patient's records, opened, if a redacted copy can be cut from it (InvalidInput: why not)."""
        opened = self.read_record(patient, patient.address, digest, log=False)
        if opened.redacted is not None:
            raise InvalidInput("this is a redacted copy already: cut another copy from the original record")
        if opened.disclosable is None:
            raise InvalidInput("vitals records cannot be shared with parts removed"
                               if opened.entry.category == Category.VITALS else
                               "this record was written before records could be shared with parts removed")
        return opened

    def _disclosure_block(self, author: LocalAccount, label: bytes, header: dict, record: Record) -> bytes:
        """The author's disclosable signature and the salt seed, sealed before a new record's payload.
        The seed is derived like the record's key (crypto.py): a retried upload seals the same bytes."""
        seed = crypto.derived_secret(author.key, self._deployment + b"disclosure-salts|" + label)
        signed = redaction.Signed(header["patient"], header["author"], header["category"], header["created_at"],
                                  record.resource_type)
        return redaction.seal_disclosable(self.domain, author.key, signed, record.resource, record.attachment, seed)

    def _open_copy(self, entry: RecordEntry, header: envelope.Header, key: bytes, content: bytes,
                   attachment: bytes) -> OpenedRecord:
        """A redacted copy verified: published by its patient, every element shown signed by the
        original's author (a registered doctor, or the patient), the rest counted as withheld."""
        if header.author != header.patient:
            raise IntegrityError("a redacted copy is shared by its patient, but this one was published by another")
        verified = redaction.verify_copy(self.domain, redaction.RedactedCopy.from_json(content), attachment)
        signed = verified.copy.signed
        if signed.patient != header.patient or header.category != Category.SHARED:
            raise IntegrityError("the redacted copy is of another patient's record, or not filed as a shared copy")
        role = self._author_role(signed.author, header.patient)
        if role not in ("doctor", "patient"):
            raise IntegrityError("a redacted copy is of a record signed by a doctor or by the patient")
        if header.summary and open_summary(key, header) != Summary.of(verified.record):
            raise IntegrityError("the redacted copy's title or clinical date in lists does not match what it shows")
        return OpenedRecord(entry, verified.record, signed.author, role, redacted=verified)
