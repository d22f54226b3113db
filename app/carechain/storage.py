"""Storing records: encrypting, signing, pinning and indexing them, the index itself, and disputes.

Order of effects: data is encrypted and pinned on IPFS before it is indexed on chain. If the chain
refuses, the object is unpinned unless the chain, read after the refusal, still needs it. What stores
and indexes data for one patient runs one at a time in this process (`_storage_lock`), so identical
submissions never race. Envelopes are deterministic (see crypto.py), so retrying an interrupted call
stores the same bytes under the same digest and finds the index entry already there.
"""
import dataclasses
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from app.carechain import crypto, envelope
from app.carechain.errors import IntegrityError, InvalidInput, TransactionFailed
from app.carechain.ipfs import cid_digest
from app.carechain.locks import named_lock
from app.carechain.model import NO_DIGEST, ZERO_ADDRESS, Numbering, RecordEntry, checksum
from app.carechain.records import Category, Record
from app.carechain.summaries import Summary, seal_summary

CONFIRM_LIMIT = 100  # entries per recordsOf call: a call's calldata and Ganache's time stay small


class StorageFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, journal and quota."""

    def add_record(self, author: LocalAccount, patient: str, record: Record) -> RecordEntry:
        """Encrypts, signs, stores and indexes `record` for `patient`; the author is the patient or
        a doctor with write access. Everyone who may read the category gets the key at once."""
        patient = self._require_role(patient, "patient")
        category = record.category
        if author.address != patient:
            self._require_access(patient, author.address, category, write=True)
        body = envelope.body_of(record.resource_json, record.attachment)
        signature = crypto.sign_record(self.domain, author.key, patient, author.address, category, record.created_at,
                                       keccak(body))
        header = dict(patient=patient, author=author.address, category=int(category), created_at=record.created_at)
        label = b"record|" + keccak(envelope.canonical_json({**header, "body": keccak(body).hex()}))
        payload, _ = envelope.pack_payload(signature, record.resource_json, record.attachment)
        if category != Category.VITALS:  # any other record can be shared with parts removed (sharing.py)
            payload = self._disclosure_block(author, label, header, record) + payload
            header["version"] = envelope.DISCLOSABLE_VERSION
        recipients = {patient, author.address} | self.readers(patient, category)
        data = self._encrypt(author.key, label, header, payload, recipients, Summary.of(record).to_bytes())
        return self._store_record(author, patient, category, data)

    def _store_record(self, author: LocalAccount, patient: str, category: Category, data: bytes) -> RecordEntry:
        """Stores an envelope within the patient's quota and indexes it as a new record by `author`.
        The node pins it while the chain is asked for the nonce, the fees and a dry run of the
        transaction (the digest computed here, as the node computes it); the transaction is sent
        only once the envelope is pinned under that digest."""
        with self._storage_lock(patient), ThreadPoolExecutor(1) as pool:
            self.quota.check(patient, len(data))
            digest = cid_digest(data)
            pinning = pool.submit(self.store.put, data)

            def pinned() -> None:
                stored = pinning.result()
                if stored != digest:  # never for the node's default layout; refused rather than indexed
                    self.store.unpin(stored)
                    raise IntegrityError("the IPFS node stored the record under another address than expected")

            def send() -> dict:
                try:
                    return self.chain.transact(author, "addRecord", patient, digest, int(category),
                                               before_sending=pinned)
                except TransactionFailed:
                    futures.wait([pinning])  # the release that follows must find it pinned to unpin it
                    raise

            entry, created = self._index(patient, digest, send)
            if created:
                self.quota.count(patient, len(data))
        return entry

    def record(self, patient: str, digest: bytes) -> RecordEntry | None:
        patient = checksum(patient)
        stored = self.chain.call("recordOf", patient, digest)
        if stored[0] == ZERO_ADDRESS:
            return None
        numbering = self.record_numbers(patient, [digest]).get(bytes(digest), Numbering(0, 0))
        return RecordEntry.of(patient, digest, numbering, stored)

    def records(self, patient: str, first: int = 1, limit: int | None = None) -> list[RecordEntry]:
        """The patient's index entries numbered from `first` on (`limit` of them, or all), every
        version of every record, in the chain's order, confirmed (see `confirmed`)."""
        patient = checksum(patient)
        first = max(first, 1)
        last = None if limit is None else first + limit - 1
        return self.confirmed(patient, self.indexed().numbered(patient, first, last))

    def all_records(self, patient: str, current_only: bool = True) -> list[RecordEntry]:
        found = self.records(patient)
        return [entry for entry in found if entry.superseded_by == 0] if current_only else found

    def confirmed(self, patient: str, listed: list[tuple[bytes, Numbering]]) -> list[RecordEntry]:
        """The entries of `listed` ((digest, numbering) from the event index) that the chain holds,
        as it holds them (author, time, superseded, disputed), in order: one batch request of a
        `recordsOf` call per CONFIRM_LIMIT entries. The contract keeps each entry under its digest;
        the numbers and the order are those of its RecordAdded events."""
        patient = checksum(patient)
        chunks = [listed[start:start + CONFIRM_LIMIT] for start in range(0, len(listed), CONFIRM_LIMIT)]
        held = self.chain.call_many([("recordsOf", (patient, [digest for digest, _ in chunk])) for chunk in chunks])
        return [RecordEntry.of(patient, digest, numbering, stored)
                for chunk, entries in zip(chunks, held) for (digest, numbering), stored in zip(chunk, entries)
                if stored[0] != ZERO_ADDRESS]

    def dispute(self, patient: LocalAccount, digest: bytes, disputed: bool = True) -> RecordEntry:
        """Flags one of the patient's own index entries as disputed (or withdraws the flag): the
        entry stays, as the index is append-only, but pages hide it and readers see the flag."""
        if self.record(patient.address, digest) is None:
            raise InvalidInput("you have no such record")
        self.chain.transact(patient, "disputeRecord", bytes(digest), bool(disputed))
        return self.record(patient.address, digest)

    def record_numbers(self, patient: str, digests) -> dict[bytes, Numbering]:
        """The numbers of some of a patient's index entries (the chain's, and their record's first
        version's, which pages show), from the event index (caught up with the chain only if it
        lacks some). An entry's numbers never change once indexed, so they are cached."""
        patient = checksum(patient)
        wanted = [bytes(d) for d in set(digests) if (patient, bytes(d)) not in self._numbers]
        found = self.index.record_numbers(patient, wanted) if wanted else {}
        if len(found) < len(wanted):
            found = self.indexed().record_numbers(patient, wanted)
        for digest, number in found.items():
            self._numbers[patient, digest] = number
        return {bytes(d): self._numbers[patient, bytes(d)] for d in digests if (patient, bytes(d)) in self._numbers}

    def _encrypt(self, private_key: bytes, label: bytes, fields: dict, payload: bytes, recipients: set,
                 summary: bytes) -> bytes:
        """The envelope of `payload` and its `summary` (see summaries.py) for `recipients`."""
        secrets = crypto.RecordSecrets(private_key, self._deployment + label)
        keys = {
            recipient: crypto.wrap_key(secrets.key, recipient, self.public_key(recipient),
                                       secrets.ephemeral_secret(recipient))
            for recipient in sorted(recipients)
        }
        header = envelope.Header(nonce=secrets.nonce, keys=keys, **fields)
        header = dataclasses.replace(header, summary=seal_summary(secrets.key, header, summary))
        return envelope.encode(header, crypto.seal(secrets.key, secrets.nonce, payload, header.associated_data()))

    def _index(self, patient: str, digest: bytes, send,
               replaces: RecordEntry | None = None) -> tuple[RecordEntry, bool]:
        """Indexes a stored object, a new record or a new version of `replaces`, unless a previous
        try already did; (entry, whether new). Runs under the patient's storage lock. The chain's
        dry run refuses a duplicate before anything is sent, so only a retry looks the entry up; a
        new entry comes from the receipt."""
        try:
            receipt = self._send_or_release(digest, send,
                                            still_needed=lambda: self.record(patient, digest) is not None)
        except TransactionFailed as error:
            if error.error_name == "RecordIndexDuplicateRecord":
                return self.record(patient, digest), False
            raise
        (added,) = self.chain.events_of(receipt, "RecordAdded")
        added_at, _ = self.chain.blocks([receipt["blockNumber"]])[receipt["blockNumber"]]
        numbering = Numbering(added["number"], replaces.origin if replaces else added["number"])
        stored = (added["author"], added["category"], added_at, 0, False)
        entry = RecordEntry.of(patient, added["digest"], numbering, stored)
        self._numbers[patient, entry.digest] = numbering
        return entry, True

    def _send_or_release(self, digest: bytes, send, still_needed) -> dict:
        """Sends a transaction that refers to the stored object `digest`. If the chain refuses it,
        the object is unpinned unless the chain, read after the refusal, still needs it (an
        identical submission that won the race indexed or delivered it). If the chain cannot be
        reached the outcome is unknown: the object stays, and a retry finds it."""
        try:
            return send()
        except TransactionFailed:
            if digest != NO_DIGEST and not still_needed():
                self.store.unpin(digest)
            raise

    def _storage_lock(self, patient: str):
        """Serializes what stores and indexes data for one patient in this process (uploads by any
        author, grants, rotations), so identical submissions never race to unpin each other."""
        return named_lock("patient storage", self.chain.chain_id, self.chain.address, patient)
