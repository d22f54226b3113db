"""Every flow of the product as one call: registration, records, grants, reads, revocation with
key rotation, and the audit trail. The web app is a thin layer over this class.

Order of effects: data is encrypted and pinned on IPFS before it is indexed on chain, and
unpinned again if the chain refuses it, so the index never points at missing data and a refusal
leaves nothing behind. Envelopes are deterministic (see crypto.py), so retrying an interrupted
call stores the same bytes under the same digest and finds the index entry already there.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, keccak, to_checksum_address

from app.carechain import crypto, envelope
from app.carechain.chain import Chain
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput, TransactionFailed, UnknownAccount
from app.carechain.ipfs import IpfsStore, cid_of
from app.carechain.locks import named_lock
from app.carechain.quota import StorageQuota
from app.carechain.records import Category, Record, categories_in, categories_mask
from app.carechain.rotation import PendingRotation, Rotation, RotationJournal
from app.carechain.settings import Settings

ROLES = {0: "none", 1: "patient", 2: "hospital", 3: "doctor"}
NO_DIGEST = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20
HEADER_READ = 8192  # first read of an envelope: its header, for most records
AUDIT_KINDS = {  # event name -> kind of audit event
    "AccessGranted": "granted", "AccessRenewed": "renewed", "AccessNarrowed": "narrowed", "AccessRevoked": "revoked",
    "RecordAdded": "record added", "RecordSuperseded": "record replaced", "RecordDisputed": "record disputed",
    "RecordRead": "read",
}
DISPUTE_WITHDRAWN = "dispute withdrawn"  # the kind of a RecordDisputed event with `disputed` false
AUDIT_FILTERS = {  # what the audit trail can be narrowed to: kinds of events
    "grants": ("AccessGranted", "AccessRenewed", "AccessNarrowed", "AccessRevoked"),
    "records": ("RecordAdded", "RecordSuperseded", "RecordDisputed"),
    "reads": ("RecordRead",),
}


@dataclass(frozen=True)
class Participant:
    address: str
    role: str
    suspended: bool
    registered_at: int
    record_count: int
    hospital: str | None

    @property
    def grantees(self) -> list[str]:
        """The accounts whose grants cover this participant: itself, and a doctor's hospital."""
        return [self.address, self.hospital] if self.hospital else [self.address]


@dataclass(frozen=True)
class RecordEntry:
    """An index entry of the chain."""

    patient: str
    digest: bytes
    number: int
    author: str
    category: Category
    added_at: int
    superseded_by: int  # number of the replacing record; 0 while current
    disputed: bool  # flagged by the patient (e.g. junk a write grantee indexed); the entry stays

    @property
    def cid(self) -> str:
        return cid_of(self.digest)


@dataclass(frozen=True)
class OpenedRecord:
    """A record fetched, verified (digest, header, decryption, signature, author) and decrypted."""

    entry: RecordEntry
    record: Record
    author: str  # who signed it; the index's author differs only after a rotation by the patient
    author_role: str


@dataclass(frozen=True)
class GrantView:
    patient: str
    grantee: str
    grantee_role: str
    categories: list
    can_write: bool
    expires_at: int  # 0: revoked

    def active(self, now: int) -> bool:
        return self.expires_at > now

    def seconds_left(self, now: int) -> int:
        return max(0, self.expires_at - now)


@dataclass(frozen=True)
class PatientAccess:
    """A patient who granted a doctor access, directly or through the doctor's hospital."""

    patient: str
    via: str  # the grantee: the doctor or their hospital
    grant: GrantView


@dataclass(frozen=True)
class AuditEvent:
    time: int
    block: int
    log_index: int
    kind: str  # a value of AUDIT_KINDS, or DISPUTE_WITHDRAWN
    actor: str
    actor_role: str  # the actor's role on chain now: patient, hospital, doctor, or none (never registered)
    details: dict

    @property
    def position(self) -> tuple[int, int]:
        """Where the event is in the chain's history; `audit_trail(before=...)` pages back from it."""
        return self.block, self.log_index


def checksum(address: str, what: str = "address") -> str:
    if not isinstance(address, str) or not is_address(address):
        raise InvalidInput(f"{address!r} is not a valid {what}: expected 0x and 40 hexadecimal characters")
    if address != address.lower() and address != address.upper() and to_checksum_address(address) != address:
        raise InvalidInput(f"{address} has a wrong checksum: check it for typing errors")
    return to_checksum_address(address)


class CareChain:
    def __init__(self, chain: Chain, store: IpfsStore, journal: RotationJournal, quota: StorageQuota):
        self.chain = chain
        self.store = store
        self.journal = journal
        self.quota = quota
        self.domain = {"name": "CareChain", "version": "1", "chainId": chain.chain_id,
                       "verifyingContract": chain.address}
        # Derived keys and nonces are bound to this deployment: the same record under another
        # chain or contract gets other keys, never a reused key and nonce.
        self._deployment = b"%d|" % chain.chain_id + bytes.fromhex(chain.address[2:]) + b"|"
        self.unreadable: list[RecordEntry] = []  # entries skipped by this instance's flows
        self._public_keys: dict[str, bytes] = {}
        self._bundles: dict[bytes, tuple[str, dict]] = {}
        self._numbers: dict[tuple[str, bytes], int] = {}

    @classmethod
    def connect(cls, settings: Settings | None = None) -> "CareChain":
        settings = settings or Settings.from_environment()
        chain = Chain(settings.rpc_url, settings.manifest)
        chain.check_deployment()
        return cls(chain, IpfsStore(settings.ipfs_api), RotationJournal(settings.data / "rotations.json"),
                   StorageQuota(settings.data / "storage-usage.json", settings.storage_quota))

    def close(self) -> None:
        self.store.close()

    def now(self) -> int:
        """The later of the wall clock and the chain's clock: Ganache only moves its clock when it
        mines, and tests move it ahead on purpose."""
        return max(int(time.time()), self.chain.latest_time())

    # Registry

    def register_patient(self, patient: LocalAccount) -> Participant:
        self.chain.transact(patient, "registerPatient", crypto.public_key_of(patient.key))
        return self.participant(patient.address)

    def register_hospital(self, admin: LocalAccount, hospital: str, public_key: bytes) -> Participant:
        hospital = checksum(hospital, "hospital address")
        self.chain.transact(admin, "registerHospital", hospital, self._own_key(hospital, public_key))
        return self.participant(hospital)

    def register_doctor(self, admin: LocalAccount, doctor: str, hospital: str, public_key: bytes) -> Participant:
        doctor = checksum(doctor, "doctor address")
        hospital = checksum(hospital, "hospital address")
        self.chain.transact(admin, "registerDoctor", doctor, hospital, self._own_key(doctor, public_key))
        return self.participant(doctor)

    def suspend_provider(self, admin: LocalAccount, provider: str) -> None:
        self.chain.transact(admin, "suspendProvider", checksum(provider, "provider address"))

    def reinstate_provider(self, admin: LocalAccount, provider: str) -> None:
        self.chain.transact(admin, "reinstateProvider", checksum(provider, "provider address"))

    def participant(self, address: str) -> Participant | None:
        address = checksum(address)
        role, suspended, registered_at, record_count, hospital = self.chain.call("participantOf", address)
        if role == 0:
            return None
        return Participant(address, ROLES[role], suspended, registered_at, record_count,
                           hospital if hospital != ZERO_ADDRESS else None)

    def public_key(self, address: str) -> bytes:
        """A participant's registered encryption key, from its registration event."""
        address = checksum(address)
        if address not in self._public_keys:
            for event, field in (("PatientRegistered", "patient"), ("HospitalRegistered", "hospital"),
                                 ("DoctorRegistered", "doctor")):
                found = self.chain.events(event, **{field: address})
                if found:
                    self._public_keys[address] = bytes(found[0]["args"]["publicKey"])
                    break
            else:
                raise UnknownAccount(f"{address} is not registered")
        return self._public_keys[address]

    def providers(self) -> list[Participant]:
        """Every registered hospital and doctor, in registration order."""
        addresses = [e["args"]["hospital"] for e in self.chain.events("HospitalRegistered")]
        addresses += [e["args"]["doctor"] for e in self.chain.events("DoctorRegistered")]
        return sorted((self.participant(a) for a in addresses), key=lambda p: p.registered_at)

    def doctors_of(self, hospital: str) -> list[str]:
        return [e["args"]["doctor"] for e in self.chain.events("DoctorRegistered", hospital=checksum(hospital))]

    @staticmethod
    def _own_key(address: str, public_key: bytes) -> bytes:
        if crypto.address_of(bytes(public_key)) != address:
            raise InvalidInput(f"that public key does not belong to {address}")
        return bytes(public_key)

    # Records

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
        recipients = {patient, author.address} | self.readers(patient, category)
        data = self._encrypt(author.key, label, header, payload, recipients)
        with self._storage_lock(patient):
            self.quota.check(patient, len(data))
            digest = self.store.put(data)
            entry, created = self._index(patient, digest, lambda: self.chain.transact(
                author, "addRecord", patient, digest, int(category)))
            if created:
                self.quota.count(patient, len(data))
        return entry

    def record(self, patient: str, digest: bytes) -> RecordEntry | None:
        patient = checksum(patient)
        author, category, added_at, superseded_by, disputed = self.chain.call("recordOf", patient, digest)
        if author == ZERO_ADDRESS:
            return None
        number = self.record_numbers(patient, [digest]).get(bytes(digest), 0)
        return RecordEntry(patient, bytes(digest), number, author, Category(category), added_at, superseded_by,
                           disputed)

    def records(self, patient: str, first: int = 1, limit: int = 100) -> list[RecordEntry]:
        """One page of a patient's index, oldest first (numbers from 1, at most 100 a page)."""
        patient = checksum(patient)
        digests, entries = self.chain.call("recordsPage", patient, first, limit)
        page = [
            RecordEntry(patient, bytes(digest), max(first, 1) + i, author, Category(category), added_at, superseded_by,
                        disputed)
            for i, (digest, (author, category, added_at, superseded_by, disputed)) in enumerate(zip(digests, entries))
        ]
        self._numbers.update(((patient, entry.digest), entry.number) for entry in page)
        return page

    def all_records(self, patient: str, current_only: bool = True) -> list[RecordEntry]:
        found, first = [], 1
        while page := self.records(patient, first, 100):
            found += page
            first += len(page)
        return [entry for entry in found if entry.superseded_by == 0] if current_only else found

    def readable_records(self, reader: str, patient: str) -> list[RecordEntry]:
        """The patient's current records in the categories `reader` may read now."""
        allowed = {category for category in Category if self.access_problem(patient, reader, category) is None}
        return [entry for entry in self.all_records(patient) if entry.category in allowed]

    def read_record(self, reader: LocalAccount, patient: str, digest: bytes, log: bool = True) -> OpenedRecord:
        """Checks access on chain, fetches, verifies and decrypts a record; a provider's read is
        then logged on chain for the patient's audit trail."""
        patient = checksum(patient)
        entry = self.record(patient, digest)
        if entry is None:
            raise InvalidInput("this patient has no such record")
        if reader.address != patient:
            self._require_access(patient, reader.address, entry.category)
        header, ciphertext = envelope.decode(self.store.get(entry.digest))
        self._check_header(patient, entry, header)
        key = self._record_key(reader, patient, entry.digest, header)
        payload = crypto.open_sealed(key, header.nonce, ciphertext, header.associated_data())
        signature, body, resource_json, attachment = envelope.unpack_payload(payload)
        signer = crypto.record_signer(self.domain, signature, header.patient, header.author, header.category,
                                      header.created_at, keccak(body))
        if signer != header.author:
            raise IntegrityError(f"the record's signature is not by its stated author {header.author} (signed by {signer})")
        author_role = self._author_role(header.author, patient)
        try:
            record = Record.from_fhir(resource_json, attachment, header.created_at)
        except InvalidInput as error:
            raise IntegrityError(f"the decrypted record is not valid: {error}") from None
        if record.category != header.category:
            raise IntegrityError("the record's content does not belong to its category")
        if log and reader.address != patient:
            self._log_read(reader, patient, entry.digest)
        return OpenedRecord(entry, record, header.author, author_role)

    def _log_read(self, reader: LocalAccount, patient: str, digest: bytes) -> None:
        """Logs the read on chain before the record is shown: no read without its trail."""
        try:
            self.chain.transact(reader, "logRead", patient, digest)
        except TransactionFailed as error:
            if error.error_name == "RecordIndexUnauthorizedReader":
                raise AccessDenied("your access ended while the record was being opened, so it was not shown") from None
            raise

    def dispute(self, patient: LocalAccount, digest: bytes, disputed: bool = True) -> RecordEntry:
        """Flags one of the patient's own index entries as disputed (or withdraws the flag): the
        entry stays, as the index is append-only, but pages hide it and readers see the flag."""
        if self.record(patient.address, digest) is None:
            raise InvalidInput("you have no such record")
        self.chain.transact(patient, "disputeRecord", bytes(digest), bool(disputed))
        return self.record(patient.address, digest)

    def _author_role(self, author: str, patient: str) -> str:
        if author == patient:
            return "patient"
        participant = self.participant(author)
        if participant is None or participant.role != "doctor":
            raise IntegrityError(f"the record's author {author} is not a registered doctor")
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
        bundles = []
        for grantee in participant.grantees if participant else []:
            for event in ("AccessGranted", "AccessRenewed"):
                bundles += [e for e in self.chain.events(event, patient=patient, grantee=grantee)
                            if bytes(e["args"]["keyBundle"]) != NO_DIGEST]
        for event in sorted(bundles, key=lambda e: (e["blockNumber"], e["logIndex"]), reverse=True):
            owner, keys = self._bundle(bytes(event["args"]["keyBundle"]))
            wrapped = keys.get(digest.hex(), {}).get(reader) if owner == patient else None
            if wrapped:
                return wrapped
        return None

    def _bundle(self, digest: bytes) -> tuple[str, dict]:
        if digest not in self._bundles:
            self._bundles[digest] = envelope.decode_bundle(self.store.get(digest))
        return self._bundles[digest]

    # Grants

    def grant(self, patient: LocalAccount, grantee: str, categories: Iterable, can_write: bool,
              expires_at: int) -> GrantView:
        """Grants a doctor or hospital access until `expires_at` and delivers, in the same
        transaction, the keys of the patient's current records in scope."""
        grantee, mask = self._check_grant(patient, grantee, categories, expires_at)
        with self._storage_lock(patient.address):
            bundle = self._key_bundle(patient, mask, self._key_holders(grantee))
            self._send_or_release(bundle, lambda: self.chain.transact(
                patient, "grantAccess", grantee, mask, bool(can_write), int(expires_at), bundle),
                still_needed=lambda: self._bundle_named(patient.address, bundle))
        return self.grant_of(patient.address, grantee)

    def renew(self, patient: LocalAccount, grantee: str, expires_at: int) -> GrantView:
        """Extends a grant. A lapsed one gets the keys of every record in scope again, since
        records added while it had lapsed were not encrypted for the grantee."""
        current = self.grant_of(patient.address, grantee)
        if current.expires_at == 0:
            raise InvalidInput("there is no grant for this provider to renew")
        with self._storage_lock(patient.address):
            bundle = NO_DIGEST
            if not current.active(self.now()):
                mask = categories_mask(current.categories)
                bundle = self._key_bundle(patient, mask, self._key_holders(current.grantee))
            self._send_or_release(bundle, lambda: self.chain.transact(
                patient, "renewAccess", current.grantee, int(expires_at), bundle),
                still_needed=lambda: self._bundle_named(patient.address, bundle))
        return self.grant_of(patient.address, current.grantee)

    def narrow(self, patient: LocalAccount, grantee: str, categories: Iterable, can_write: bool,
               expires_at: int, rotate: bool = False) -> tuple[GrantView, Rotation]:
        """Reduces a grant. With `rotate`, the records of the categories dropped are re-encrypted
        (see `rotate`). Returns the grant as it now stands and what the rotation did."""
        grantee = checksum(grantee, "grantee address")
        before = self.grant_of(patient.address, grantee)
        self.chain.transact(patient, "narrowAccess", grantee, categories_mask(categories), bool(can_write),
                            int(expires_at))
        dropped = set(before.categories) - {Category(c) for c in categories}
        rotation = self.rotate(patient, dropped, f"narrowing {grantee}") if rotate and dropped else Rotation([], [])
        return self.grant_of(patient.address, grantee), rotation

    def revoke(self, patient: LocalAccount, grantee: str, rotate: bool = True) -> Rotation:
        """Ends a grant at once. With `rotate` (the default), the records the grantee could open
        are re-encrypted under new keys for the remaining readers, the old entries superseded and
        the old ciphertext deleted from our node: keys the grantee kept open nothing current."""
        grant = self.grant_of(patient.address, grantee)
        self.chain.transact(patient, "revokeAccess", grant.grantee)
        return self.rotate(patient, grant.categories, f"revoking {grant.grantee}") if rotate else Rotation([], [])

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
        successor (same signature and creation time), and the old ciphertext unpinned; then the
        node's garbage collection deletes it. Entries that cannot be read are skipped."""
        pending = self.journal.pending(patient.address)
        if pending is None:
            return Rotation([], [])
        mask = categories_mask(pending.categories)
        readers = {category: {patient.address} | self.readers(patient.address, category)
                   for category in pending.categories}
        rotated, skipped = [], []
        with self._storage_lock(patient.address):
            for entry in self._records_through(patient.address, pending.through):
                if not mask >> entry.category & 1:
                    continue
                if entry.superseded_by:
                    if self._rotated_by_patient(patient.address, entry, pending.through):
                        self.store.unpin(entry.digest)  # an interrupted run indexed the successor, not this unpin
                    continue
                try:
                    fields, payload = self._open_as_patient(patient, entry)
                except IntegrityError:
                    skipped.append(entry)
                    continue
                data = self._encrypt(patient.key, b"rotation|" + entry.digest, fields, payload,
                                     readers[entry.category])
                digest = self.store.put(data)
                new, _ = self._index(patient.address, digest, lambda: self.chain.transact(
                    patient, "supersedeRecord", patient.address, entry.digest, digest))
                rotated.append(new)
                self.store.unpin(entry.digest)
        self.journal.finish(patient.address, pending)
        self.store.collect_garbage()
        self.unreadable += skipped
        return Rotation(rotated, skipped)

    def _rotated_by_patient(self, patient: str, entry: RecordEntry, through: int) -> bool:
        """Whether `entry` was replaced by the patient after the rotation numbered `through` began."""
        if entry.superseded_by <= through:
            return False
        (successor,) = self.records(patient, entry.superseded_by, 1)
        return successor.author == patient

    def remaining_access(self, patient: str, account: str) -> list[GrantView]:
        """Live grants of `patient` through which `account` can still read after its own grant
        ended: a doctor's hospital's grant; for a hospital, its doctors' own grants."""
        participant = self.participant(account)
        if participant is None:
            return []
        holders = [participant.hospital] if participant.hospital else []
        if participant.role == "hospital":
            holders = self.doctors_of(participant.address)
        now = self.now()
        return [view for view in self._grant_views(checksum(patient), holders) if view.active(now)]

    def _records_through(self, patient: str, last: int) -> list[RecordEntry]:
        """The patient's entries numbered 1 to `last`, superseded ones included."""
        found, first = [], 1
        while first <= last and (page := self.records(patient, first, min(100, last - first + 1))):
            found += page
            first += len(page)
        return found

    def _open_as_patient(self, patient: LocalAccount, entry: RecordEntry) -> tuple[dict, bytes]:
        """The header fields and sealed payload of one of the patient's records, opened with the
        patient's key (IntegrityError for anything that is not such a record)."""
        header, ciphertext = envelope.decode(self.store.get(entry.digest))
        self._check_header(patient.address, entry, header)
        key = self._patient_key(patient, header)
        payload = crypto.open_sealed(key, header.nonce, ciphertext, header.associated_data())
        fields = dict(patient=header.patient, author=header.author, category=header.category,
                      created_at=header.created_at)
        return fields, payload

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

    def grant_of(self, patient: str, grantee: str) -> GrantView:
        return self._grant_views(checksum(patient), [checksum(grantee, "grantee address")])[0]

    def grants_of(self, patient: str, limit: int | None = None) -> list[GrantView]:
        """The patient's grants as they stand, revoked ones left out, newest grantee first: all,
        or those among the newest `limit` grantees (found from recent blocks back, so a page
        costs what a page holds)."""
        patient = checksum(patient)
        events = self._newest_events(["AccessGranted"], limit, raw=True, patient=patient)
        grantees = list(dict.fromkeys(to_checksum_address(bytes(event["topics"][2])[-20:])
                                      for _, event in reversed(events)))[:limit]
        return [view for view in self._grant_views(patient, grantees) if view.expires_at != 0]

    def _grant_views(self, patient: str, grantees: list[str]) -> list[GrantView]:
        """The grants of `patient` to `grantees` (revoked ones with expiry 0), with the grantees'
        roles, from one batch request."""
        results = self.chain.call_many([("grantOf", (patient, grantee)) for grantee in grantees] +
                                       [("participantOf", (grantee,)) for grantee in grantees])
        states, roles = results[:len(grantees)], results[len(grantees):]
        return [GrantView(patient, grantee, ROLES[role[0]], categories_in(mask), can_write, expires_at)
                for grantee, (expires_at, mask, can_write), role in zip(grantees, states, roles)]

    def patients_of(self, doctor: str) -> list[PatientAccess]:
        """Everyone who granted the doctor, or the doctor's hospital, access (live or lapsed)."""
        doctor = checksum(doctor)
        participant = self.participant(doctor)
        found = []
        for grantee in participant.grantees if participant else []:
            patients = dict.fromkeys(e["args"]["patient"] for e in self.chain.events("AccessGranted", grantee=grantee))
            for patient in patients:
                view = self.grant_of(patient, grantee)
                if view.expires_at != 0:
                    found.append(PatientAccess(patient, grantee, view))
        return found

    def readers(self, patient: str, category: int) -> set[str]:
        """Everyone who may read `category` of the patient's records now: live grantees, and the
        active doctors of granted hospitals."""
        now = self.now()
        readers = set()
        granted = dict.fromkeys(e["args"]["grantee"] for e in self.chain.events("AccessGranted", patient=patient))
        for grantee in granted:
            expires_at, mask, _ = self.chain.call("grantOf", patient, grantee)
            if expires_at <= now or not mask >> category & 1:
                continue
            readers |= {account for account in self._covered_by(grantee)
                        if self.chain.call("canAccess", patient, account, category)}
        return readers

    def _check_grant(self, patient: LocalAccount, grantee: str, categories: Iterable, expires_at: int):
        grantee = checksum(grantee, "grantee address")
        provider = self.participant(grantee)
        if provider is None or provider.role not in ("doctor", "hospital"):
            raise InvalidInput(f"{grantee} is not a registered doctor or hospital")
        mask = categories_mask(categories)
        if mask == 0:
            raise InvalidInput("choose at least one category")
        if int(expires_at) <= self.now():
            raise InvalidInput("the end of access must be in the future")
        return grantee, mask

    def _covered_by(self, grantee: str) -> list[str]:
        """The accounts a grant to `grantee` covers: the grantee, and a hospital's doctors."""
        if self.participant(grantee).role == "hospital":
            return [grantee] + self.doctors_of(grantee)
        return [grantee]

    def _key_holders(self, grantee: str) -> list[str]:
        """Who receives keys with a grant: the accounts it covers, less suspended doctors."""
        return [account for account in self._covered_by(grantee)
                if account == grantee or not self.participant(account).suspended]

    def _key_bundle(self, patient: LocalAccount, mask: int, recipients: list[str]) -> bytes:
        """Stores the keys of the patient's current records in `mask`, wrapped for each recipient;
        returns the bundle's digest (zero when there is nothing to deliver). Entries that are not
        readable records of the patient are skipped (see `unreadable`), never fatal."""
        keys = {}
        for entry in self.all_records(patient.address):
            if not mask >> entry.category & 1:
                continue
            try:
                header = self._header(entry.digest)
                self._check_header(patient.address, entry, header)
                key = self._patient_key(patient, header)
            except IntegrityError:
                self.unreadable.append(entry)
                continue
            keys[entry.digest.hex()] = {
                recipient: crypto.wrap_key(key, recipient, self.public_key(recipient), crypto.derived_secret(
                    patient.key, self._deployment + b"bundle|" + entry.digest + bytes.fromhex(recipient[2:])))
                for recipient in recipients
            }
        return self.store.put(envelope.encode_bundle(patient.address, keys)) if keys else NO_DIGEST

    def _bundle_named(self, patient: str, bundle: bytes) -> bool:
        """Whether a grant or renewal of `patient` delivered the key bundle `bundle`."""
        return any(bytes(event["args"]["keyBundle"]) == bundle
                   for name in ("AccessGranted", "AccessRenewed") for event in self.chain.events(name, patient=patient))

    def _header(self, digest: bytes) -> envelope.Header:
        prefix = self.store.get_prefix(digest, HEADER_READ)
        end = envelope.header_end(prefix)
        return envelope.decode_header(prefix if end <= len(prefix) else self.store.get_prefix(digest, end))

    # Audit

    def audit_trail(self, patient: str, limit: int | None = None, kinds: Iterable[str] | None = None,
                    before: tuple[int, int] | None = None) -> list[AuditEvent]:
        """Grants, renewals, narrowings, revocations, records, disputes and reads of the patient,
        oldest first: all of them, or the newest `limit`, found by searching back from the latest
        block in growing windows, so a page costs what the recent history costs, not the whole.
        `kinds` keeps only some of AUDIT_FILTERS ("grants", "records", "reads"), so a flood of one
        kind hides no other. `before` (an event's `position`) keeps only older events: the page
        before `page` is `audit_trail(..., before=page[0].position)`."""
        patient = checksum(patient)
        found = self._newest_events(self._audit_event_names(kinds), limit, before=before, patient=patient)
        found = found[-limit:] if limit else found
        times = self.chain.block_times(event["blockNumber"] for _, event in found)
        actors = [event["args"].get("reader") or event["args"].get("author") or patient for _, event in found]
        roles = self._roles(set(actors))
        trail = []
        for (name, event), actor in zip(found, actors):
            args = dict(event["args"])
            details = {key: (value.hex() if isinstance(value, bytes) else value)
                       for key, value in args.items() if key != "patient"}
            if "categories" in details:
                details["categories"] = [c.label for c in categories_in(details["categories"])]
            kind = DISPUTE_WITHDRAWN if name == "RecordDisputed" and not args["disputed"] else AUDIT_KINDS[name]
            trail.append(AuditEvent(times[event["blockNumber"]], event["blockNumber"], event["logIndex"], kind,
                                    actor, roles[actor], details))
        return trail

    def _audit_event_names(self, kinds: Iterable[str] | None) -> list[str]:
        """The events of AUDIT_FILTERS `kinds` (all: None) that this deployment's contract has:
        one deployed before an event existed simply has none of it."""
        kinds = list(AUDIT_FILTERS) if kinds is None else list(kinds)
        unknown = [kind for kind in kinds if kind not in AUDIT_FILTERS]
        if unknown:
            raise InvalidInput(f"no such kind of audit event: {', '.join(unknown)} "
                               f"(choose from {', '.join(AUDIT_FILTERS)})")
        wanted = {name for kind in kinds for name in AUDIT_FILTERS[kind]}
        deployed = {item["name"] for item in self.chain.contract.abi if item["type"] == "event"}
        return [name for name in AUDIT_KINDS if name in wanted and name in deployed]

    def _roles(self, addresses: set[str]) -> dict[str, str]:
        """The current roles of some accounts, from one batch request."""
        addresses = sorted(addresses)
        participants = self.chain.call_many([("participantOf", (address,)) for address in addresses])
        return {address: ROLES[participant[0]] for address, participant in zip(addresses, participants)}

    def _newest_events(self, names: list[str], limit: int | None, raw: bool = False,
                       before: tuple[int, int] | None = None, **indexed) -> list[tuple[str, dict]]:
        """(name, event) of the events `names` matching `indexed`, oldest first: all of them, or at
        least the newest `limit` (when there are so many), searched back in growing windows from
        the latest block, or from the position `before` (block, log index; exclusive); `raw` leaves
        them undecoded."""
        query = self.chain.raw_events if raw else self.chain.events
        first, last = self.chain.deploy_block, self.chain.latest_block()
        if before:
            last = min(last, before[0])
        if last < first:
            return []
        span = max(256, 2 * (limit or 0))
        while True:
            start = max(first, last - span + 1) if limit else first
            found = [(name, event) for name in names
                     for event in query(name, from_block=start, to_block=last, **indexed)
                     if not before or (event["blockNumber"], event["logIndex"]) < tuple(before)]
            if not limit or len(found) >= limit or start == first:
                break
            span *= 4
        found.sort(key=lambda item: (item[1]["blockNumber"], item[1]["logIndex"]))
        return found

    def record_numbers(self, patient: str, digests) -> dict[bytes, int]:
        """The numbers of some of a patient's records, from one event query; numbers never
        change, so they are cached."""
        patient = checksum(patient)
        wanted = [bytes(d) for d in set(digests) if (patient, bytes(d)) not in self._numbers]
        if wanted:
            for event in self.chain.events("RecordAdded", patient=patient, digest=wanted):
                self._numbers[patient, bytes(event["args"]["digest"])] = event["args"]["number"]
        return {bytes(d): self._numbers[patient, bytes(d)] for d in digests if (patient, bytes(d)) in self._numbers}

    # Accounts on a local chain

    def fund(self, funder: LocalAccount, address: str, ether: float = 1.0) -> None:
        """Sends ether for gas to a new account (local chain and demos; a consortium chain with
        free gas needs no funding)."""
        self.chain.send_ether(funder, checksum(address), int(ether * 10**18))

    # Helpers

    def _encrypt(self, private_key: bytes, label: bytes, fields: dict, payload: bytes, recipients: set) -> bytes:
        secrets = crypto.RecordSecrets(private_key, self._deployment + label)
        keys = {
            recipient: crypto.wrap_key(secrets.key, recipient, self.public_key(recipient),
                                       secrets.ephemeral_secret(recipient))
            for recipient in sorted(recipients)
        }
        header = envelope.Header(nonce=secrets.nonce, keys=keys, **fields)
        return envelope.encode(header, crypto.seal(secrets.key, secrets.nonce, payload, header.associated_data()))

    def _index(self, patient: str, digest: bytes, send) -> tuple[RecordEntry, bool]:
        """Indexes a stored object unless a previous try already did; (entry, whether new).
        Runs under the patient's storage lock."""
        existing = self.record(patient, digest)
        if existing is not None:
            return existing, False
        self._send_or_release(digest, send, still_needed=lambda: self.record(patient, digest) is not None)
        return self.record(patient, digest), True

    def _send_or_release(self, digest: bytes, send, still_needed) -> None:
        """Sends a transaction that refers to the stored object `digest`. If the chain refuses it,
        the object is unpinned unless the chain, read after the refusal, still needs it (an
        identical submission that won the race indexed or delivered it). If the chain cannot be
        reached the outcome is unknown: the object stays, and a retry finds it."""
        try:
            send()
        except TransactionFailed:
            if digest != NO_DIGEST and not still_needed():
                self.store.unpin(digest)
            raise

    def _storage_lock(self, patient: str):
        """Serializes what stores and indexes data for one patient in this process (uploads by any
        author, grants, rotations), so identical submissions never race to unpin each other."""
        return named_lock("patient storage", self.chain.chain_id, self.chain.address, patient)

    def _require_role(self, address: str, role: str) -> str:
        participant = self.participant(address)
        if participant is None or participant.role != role:
            raise InvalidInput(f"{checksum(address)} is not a registered {role}")
        return participant.address

    def _require_access(self, patient: str, account: str, category: Category, write: bool = False) -> None:
        problem = self.access_problem(patient, account, category, write)
        if problem:
            raise AccessDenied(problem)

    def access_problem(self, patient: str, account: str, category: Category, write: bool = False) -> str | None:
        """None if `account` may read (or write) `category` of the patient's records now, else why not.
        The chain decides; the wall clock also ends a grant whose second has passed, since an idle
        chain's clock stands still."""
        participant = self.participant(account)
        if participant is None or participant.role not in ("doctor", "hospital"):
            return "only registered doctors and hospitals can be granted access"
        if self.chain.call("canWrite" if write else "canAccess", patient, participant.address, int(category)):
            now = self.now()
            for grantee in participant.grantees:
                expires_at, mask, can_write = self.chain.call("grantOf", patient, grantee)
                if expires_at > now and mask >> category & 1 and (can_write or not write):
                    return None
        return self._refusal(patient, participant, category, write)

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


def _when(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
