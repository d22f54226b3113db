"""Reading records: the access check on chain, fetching, verifying and decrypting, and the read
logged on chain before anything is shown; refusals explained in words.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from app.carechain import crypto, envelope, redaction
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput, TransactionFailed
from app.carechain.model import ZERO_ADDRESS, Numbering, OpenedRecord, Participant, RecordEntry, checksum
from app.carechain.records import Category, Record
from app.carechain.summaries import FETCHERS, Summary, open_summary

HEADER_READ = 8192  # first read of an envelope: its header, for most records


class ReadingFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, journal and quota."""

    def readable_records(self, reader: str, patient: str) -> list[RecordEntry]:
        """The patient's current records in the categories `reader` may read now."""
        readable, _ = self.access_scope(patient, reader)
        return [entry for entry in self.all_records(patient) if entry.category in readable]

    def read_record(self, reader: LocalAccount, patient: str, digest: bytes, log: bool = True) -> OpenedRecord:
        """Checks access on chain, fetches, verifies and decrypts a record; a provider's read is
        then logged on chain for the patient's audit trail."""
        return self.read_records(reader, patient, [digest], log)[0]

    def read_records(self, reader: LocalAccount, patient: str, digests: list[bytes],
                     log: bool = True) -> list[OpenedRecord]:
        """`read_record` for several records of one patient (a chart, a list of alerts): one batch
        of access checks, and one transaction logging every read, before anything is shown."""
        patient = checksum(patient)
        # The envelopes are fetched while the chain is asked whether the reader may open them: they
        # are public by design, so fetching before the answer reveals nothing, and the chain's
        # answer comes first (a refusal waits for no fetch, and is what the reader is told).
        pool = ThreadPoolExecutor(FETCHERS)
        try:
            fetches = {digest: pool.submit(self.store.get, digest) for digest in dict.fromkeys(map(bytes, digests))}
            opened = [self._open(reader, patient, entry, fetches[entry.digest].result())
                      for entry in self._readable_entries(patient, digests, reader.address)]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if log and reader.address != patient and opened:
            self._log_reads(reader, patient, [record.entry.digest for record in opened])
        return opened

    def _open(self, reader: LocalAccount, patient: str, entry: RecordEntry, data: bytes) -> OpenedRecord:
        """Verifies and decrypts the record of `entry`, its envelope `data` fetched and re-hashed
        (a redacted copy: see sharing.py)."""
        header, ciphertext = envelope.decode(data)
        self._check_header(patient, entry, header)
        key = self._record_key(reader, patient, entry.digest, header)
        resource_json, attachment, block = self._unseal(key, header, ciphertext)
        if redaction.is_copy(resource_json):
            return self._open_copy(entry, header, key, resource_json, attachment)
        author_role = self._author_role(header.author, patient)
        try:
            record = Record.from_fhir(resource_json, attachment, header.created_at)
        except InvalidInput as error:
            raise IntegrityError(f"the decrypted record is not valid: {error}") from None
        if record.category != header.category:
            raise IntegrityError("the record's content does not belong to its category")
        if header.summary and open_summary(key, header) != Summary.of(record):
            raise IntegrityError("the record's title or clinical date in lists does not match its content")
        disclosable = block and redaction.open_disclosable(self.domain, header, resource_json, attachment, block)
        return OpenedRecord(entry, record, header.author, author_role, disclosable)

    def _unseal(self, key: bytes, header: envelope.Header, ciphertext: bytes) -> tuple[bytes, bytes, bytes | None]:
        """Decrypts an envelope's payload and checks that its header's author signed it; returns the
        resource's JSON, the attachment and (version 3) the disclosure block, unchecked."""
        payload = crypto.open_sealed(key, header.nonce, ciphertext, header.associated_data())
        block, payload = envelope.split_disclosable(payload, header.version)
        signature, body, resource_json, attachment = envelope.unpack_payload(payload)
        signer = crypto.record_signer(self.domain, signature, header.patient, header.author, header.category,
                                      header.created_at, keccak(body))
        if signer != header.author:
            raise IntegrityError(f"the record's signature is not by its stated author {header.author} (signed by {signer})")
        return resource_json, attachment, block

    def _readable_entries(self, patient: str, digests: list[bytes], reader: str) -> list[RecordEntry]:
        """The records' index entries, once the chain has said that `reader` may read each now: one
        batch of calls for the entries and the access checks."""
        answers = self.chain.call_many([("recordAccessOf", (patient, digest, reader)) for digest in digests])
        numbers = self.record_numbers(patient, digests)
        entries = []
        for digest, (stored, readable_until) in zip(digests, answers):
            if stored[0] == ZERO_ADDRESS:
                raise InvalidInput("this patient has no such record")
            # The chain allowing it means its latest block is before the expiry, so the wall clock
            # alone decides whether the second has passed meanwhile.
            if readable_until <= time.time():
                raise AccessDenied(self.access_problem(patient, reader, Category(stored[1]))
                                   or "your access to this record ended while it was being opened")
            entries.append(RecordEntry.of(patient, digest, numbers.get(bytes(digest), Numbering(0, 0)), stored))
        return entries

    def _log_reads(self, reader: LocalAccount, patient: str, digests: list[bytes]) -> None:
        """Logs the reads on chain before the records are shown: no read without its trail."""
        try:
            if len(digests) == 1:
                self.chain.transact(reader, "logRead", patient, digests[0])
            else:
                self.chain.transact(reader, "logReads", patient, digests)
        except TransactionFailed as error:
            if error.error_name == "RecordIndexUnauthorizedReader":
                raise AccessDenied("your access ended while the record was being opened, so it was not shown") from None
            raise

    def _author_role(self, author: str, patient: str) -> str:
        """A role never changes, so the event index answers for those it knows."""
        if author == patient:
            return "patient"
        role = self.role_of(author)
        if role == "device" and self.participant(author).patient == patient:
            return "device"
        if role != "doctor":
            raise IntegrityError(f"the record's author {author} is neither a registered doctor nor a device of the patient")
        return "doctor"

    def _record_key(self, reader: LocalAccount, patient: str, digest: bytes, header: envelope.Header) -> bytes:
        wrapped = header.keys.get(reader.address) or self._delivered_key(reader.address, patient, digest)
        if wrapped is None:
            raise AccessDenied("the key of this record has not been delivered to you: "
                               "ask the patient to grant access again")
        return crypto.unwrap_key(wrapped, reader.address, reader.key)

    def _delivered_key(self, reader: str, patient: str, digest: bytes) -> dict | None:
        """The reader's wrapped key for `digest` from the key bundles of the patient's grants to the
        reader or the reader's hospital, newest first."""
        participant = self.participant(reader)
        for bundle in self.indexed().bundles(patient, participant.grantees if participant else []):
            owner, keys = self._bundle(bundle)
            wrapped = keys.get(digest.hex(), {}).get(reader) if owner == patient else None
            if wrapped:
                return wrapped
        return None

    def _bundle(self, digest: bytes) -> tuple[str, dict]:
        if digest not in self._bundles:
            self._bundles[digest] = envelope.decode_bundle(self.store.get(digest))
        return self._bundles[digest]

    def _header(self, digest: bytes) -> envelope.Header:
        prefix = self.store.get_prefix(digest, HEADER_READ)
        end = envelope.header_end(prefix)
        return envelope.decode_header(prefix if end <= len(prefix) else self.store.get_prefix(digest, end))

    @staticmethod
    def _check_header(patient: str, entry: RecordEntry, header: envelope.Header) -> None:
        if header.patient != patient or header.category != entry.category:
            raise IntegrityError("the stored record belongs to another patient or category than its index entry: "
                                 "the entry points at another record's data")
        if entry.author not in (header.author, patient):  # the patient re-publishes others' records when rotating
            raise IntegrityError("the stored record names another author than its index entry")

    @staticmethod
    def _patient_key(patient: LocalAccount, header: envelope.Header) -> bytes:
        wrapped = header.keys.get(patient.address)
        if wrapped is None:
            raise IntegrityError("the stored record holds no key for its patient")
        return crypto.unwrap_key(wrapped, patient.address, patient.key)

    def access_scope(self, patient: str, account: str) -> tuple[set[Category], set[Category]]:
        """The categories of the patient's records `account` may read now, and those it may add
        to, as the chain decides them in one batch of calls (and the wall clock, as in
        `access_problem`)."""
        patient = checksum(patient)
        participant = self.participant(account)
        if participant is None or participant.role not in ("doctor", "hospital"):
            return set(), set()
        categories = list(Category)
        answers = self.chain.call_many(
            [("canAccess", (patient, participant.address, int(category))) for category in categories]
            + [("canWrite", (patient, participant.address, int(category))) for category in categories]
            + [("grantOf", (patient, grantee)) for grantee in participant.grantees])
        reads, writes, grants = answers[:len(categories)], answers[len(categories):2 * len(categories)], \
            answers[2 * len(categories):]
        return ({category for category, may in zip(categories, reads) if may and _live(grants, category, False)},
                {category for category, may in zip(categories, writes) if may and _live(grants, category, True)})

    def access_problem(self, patient: str, account: str, category: Category, write: bool = False) -> str | None:
        """None if `account` may read (or write) `category` of the patient's records now, else why not.
        The chain decides; the wall clock also ends a grant whose second has passed, since an idle
        chain's clock stands still."""
        participant = self.participant(account)
        if participant is not None and participant.role == "device":
            return self._device_problem(patient, participant, category, write)
        if participant is None or participant.role not in ("doctor", "hospital"):
            return "only registered doctors and hospitals can be granted access"
        allowed, *grants = self.chain.call_many(
            [("canWrite" if write else "canAccess", (patient, participant.address, int(category)))]
            + [("grantOf", (patient, grantee)) for grantee in participant.grantees])
        if allowed and _live(grants, category, write):
            return None
        return self._refusal(patient, participant, category, write)

    @staticmethod
    def _device_problem(patient: str, device: Participant, category: Category, write: bool) -> str | None:
        """Why a device may not do this (the contract decides the same): devices add their own
        patient's vitals, read nothing, and stop for good when revoked."""
        if device.patient != patient:
            return "this device belongs to another patient"
        if device.suspended:
            return "this device was revoked by its patient"
        if not write or category != Category.VITALS:
            return "a device may only add vitals records"
        return None

    def _require_access(self, patient: str, account: str, category: Category, write: bool = False) -> None:
        problem = self.access_problem(patient, account, category, write)
        if problem:
            raise AccessDenied(problem)

    def _refusal(self, patient: str, participant: Participant, category: Category, write: bool) -> str:
        """Why the chain (or the wall clock) refuses `participant` this access, in words."""
        if participant.suspended:
            return "your account is suspended"
        if participant.hospital and self.participant(participant.hospital).suspended:
            return "your hospital is suspended"
        now = self.now()
        grants = [self.grant_of(patient, grantee) for grantee in participant.grantees]
        grants = [grant for grant in grants if grant.expires_at != 0]
        label = Category(category).label.lower()
        if not grants:
            return "this patient has not granted you access, or has revoked it"
        live = [grant for grant in grants if grant.active(now)]
        if not live:
            return f"your access to this patient's records expired on {_when(max(g.expires_at for g in grants))}"
        if not any(category in grant.categories for grant in live):
            return f"this patient's grant does not cover {label} records"
        if write:
            return f"this patient's grant lets you read {label} records, not add them"
        return "the chain does not grant you this access"


def _live(grants, category: Category, write: bool) -> bool:
    """Whether one of `grants` ((expiresAt, categories, canWrite) as grantOf returns them) covers
    `category` (with the write right, if `write`) by the wall clock. The chain allowing the access
    means its latest block is before the expiry, so the wall clock alone decides whether the second
    has passed meanwhile: an idle chain's clock stands still."""
    now = int(time.time())
    return any(expires_at > now and mask >> category & 1 and (can_write or not write)
               for expires_at, mask, can_write in grants)


def _when(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
