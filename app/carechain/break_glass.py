"""Break-glass: a doctor opens an absent or unconscious patient's emergency summary without a grant,
on the record. (The summary itself, an IPS document, is built in emergency.py.)

- **Sealing.** The summary is a record envelope (envelope.py) of its own category,
  EMERGENCY_CATEGORY, signed by the patient (EIP-712, as records are), its key wrapped in the header
  for the patient alone. Every save seals it under a new key.
- **Custody, without a master key.** The key is split (SLIP-0039) among the registered,
  unsuspended hospitals of the consortium, any `threshold` of them (emergency.threshold_for) able
  to restore it; each share is wrapped for its hospital's registered key, all in one IPFS custody
  object. The chain holds the digests of the envelope and the custody object (`setEmergencySummary`).
- **Declaring.** An active doctor declares an emergency with a reason (`declareEmergency`), which
  is sealed for the patient and the doctor like an access request's reason; only its digest is on
  chain. The window opens for EMERGENCY_WINDOW, at once or once a second active doctor confirms if
  the admin's policy requires it (`confirmEmergency`).
- **Releasing.** Each custodian hospital, with its own key (custodian.py runs it), re-wraps its
  share for the doctor, stores it and sends `releaseEmergencyShare`, which the chain refuses
  outside an open window. Once `threshold` shares are released, the doctor combines them, opens
  the envelope and checks the patient's signature. Declaration, confirmation and every release are
  events of the patient's audit trail.
"""

import json
import secrets
import time
from dataclasses import dataclass, field, replace

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from app.carechain import crypto, emergency, envelope
from app.carechain.emergency import EmergencySummary
from app.carechain.errors import AccessDenied, CareChainError, IntegrityError, InvalidInput
from app.carechain.locks import named_lock
from app.carechain.model import NO_DIGEST, checksum
from app.carechain.notes import NoteKind, clean_note
from app.carechain.records import Category, fhir_datetime
from app.carechain.summaries import Summary

EMERGENCY_CATEGORY = 29  # the summary envelope's category: no record's (0-5), nor a note's (28, 30) or profile's (31)
REASON = NoteKind(28, "carechain/break-glass-reason", "Reason for emergency access", "the emergency's reason",
                  "the doctor who declared the emergency")
EMERGENCY_WINDOW = 24 * 3600  # BreakGlass.EMERGENCY_WINDOW
CUSTODY_FORMAT = "carechain/emergency-custody"
SHARE_FORMAT = "carechain/emergency-share"
BREAK_GLASS_EVENTS = ("EmergencyDeclared", "EmergencyConfirmed", "EmergencyShareReleased")
RECENT = 30 * 86400  # the patient's banner shows the break-glass events of the last 30 days
SOURCES = (Category.CONDITIONS, Category.MEDICATIONS, Category.LABS)  # the records a summary is built from
SOURCE_TYPES = ("Condition", "AllergyIntolerance", "MedicationRequest", "Observation")


@dataclass(frozen=True)
class Custody:
    """Who holds the shares of a patient's current summary key, and how many must release them."""

    digest: bytes  # of the custody object on IPFS
    summary: bytes  # of the sealed summary
    threshold: int
    custodians: tuple[str, ...]
    saved_at: int


@dataclass(frozen=True)
class BreakGlass:
    """One declaration of an emergency, as its events left it."""

    patient: str
    doctor: str
    hospital: str
    reason: bytes  # digest of the sealed reason
    declared_at: int
    awaiting_confirmation: bool  # the policy asked for a second doctor when it was declared
    confirmed_by: str | None = None
    confirmed_at: int = 0
    releases: tuple[tuple[str, bytes, int], ...] = field(default_factory=tuple)  # (hospital, share, time)

    @property
    def opened_at(self) -> int:
        """When the window opened; 0 while waiting for (or without) a confirmation."""
        return self.confirmed_at if self.awaiting_confirmation else self.declared_at

    @property
    def closes_at(self) -> int:
        return self.opened_at + EMERGENCY_WINDOW if self.opened_at else 0

    @property
    def released_by(self) -> list[str]:
        return list(dict.fromkeys(hospital for hospital, _, _ in self.releases))

    def state(self, now: int) -> str:
        """open, closed, waiting (for a second doctor) or lapsed (never confirmed)."""
        if self.opened_at:
            return "open" if now < self.closes_at else "closed"
        return "waiting" if now < self.declared_at + EMERGENCY_WINDOW else "lapsed"


class EmergencyFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, index and the other flows."""

    # The patient

    def build_emergency_summary(self, patient: LocalAccount) -> EmergencySummary:
        """A summary built from the patient's current records (allergies, prescriptions, problems,
        blood group), keeping the implants and contact of the saved one; not saved yet."""
        listing = self.list_records(patient, patient.address)
        digests = [row.entry.digest for row in listing.records if row.summary and not row.entry.disputed
                   and row.entry.category in SOURCES and row.summary.resource_type in SOURCE_TYPES]
        records = [opened.record for opened in self.read_records(patient, patient.address, digests, log=False)]
        return emergency.from_records(patient.address, records, self.own_emergency_summary(patient))

    def save_emergency_summary(self, patient: LocalAccount, summary: EmergencySummary) -> Custody:
        """Seals the summary under a new key, splits the key among the active hospitals, and points
        the chain at both; the previous envelope and custody object are unpinned."""
        if summary.patient != patient.address:
            raise InvalidInput("a patient writes only its own emergency summary")
        self._require_role(patient.address, "patient")
        custodians = self.custodian_hospitals()
        if not custodians:
            raise InvalidInput("no hospital is registered to keep your summary's key: try again later")
        with self._storage_lock(patient.address):
            previous = self.emergency_custody(patient.address)
            summary = replace(summary, updated_at=max(summary.updated_at, self.now()))
            digest, key = self._seal_summary(patient, summary)
            threshold, shares = emergency.split_key(key, len(custodians))
            custody = {"format": CUSTODY_FORMAT, "version": 1, "patient": patient.address, "summary": digest.hex(),
                       "threshold": threshold,
                       "shares": {hospital: self._wrap_for(hospital, share.encode())
                                  for hospital, share in zip(custodians, shares)}}
            custody_digest = self.store.put(envelope.canonical_json(custody))
            self._send_or_release(custody_digest, lambda: self.chain.transact(
                patient, "setEmergencySummary", digest, custody_digest), still_needed=lambda: False)
            if previous is not None:
                for old in {previous.summary, previous.digest} - {digest, custody_digest}:
                    self.store.unpin(old)
        return self.emergency_custody(patient.address)

    def own_emergency_summary(self, patient: LocalAccount) -> EmergencySummary | None:
        digest = bytes(self.chain.call("emergencySummaryOf", patient.address))
        if digest == NO_DIGEST:
            return None
        header, ciphertext = envelope.decode(self.store.get(digest))
        return self._opened_summary(patient.address, header, ciphertext, self._patient_key(patient, _checked(
            patient.address, header)))

    def remove_emergency_summary(self, patient: LocalAccount) -> None:
        with self._storage_lock(patient.address):
            previous = self.emergency_custody(patient.address)
            if previous is not None:
                self.chain.transact(patient, "setEmergencySummary", NO_DIGEST, NO_DIGEST)
                self.store.unpin(previous.summary)
                self.store.unpin(previous.digest)

    def emergency_custody(self, patient: str) -> Custody | None:
        """The custody of the patient's current summary (None: no summary), the chain deciding
        which summary is current."""
        patient = checksum(patient)
        current = bytes(self.chain.call("emergencySummaryOf", patient))
        if current == NO_DIGEST:
            return None
        for _, _, second, _, _, details in reversed(self.indexed().events(patient, ["EmergencySummarySet"])):
            if bytes.fromhex(details["summary"]) == current:
                content = self._custody_object(bytes.fromhex(details["custody"]), patient, current)
                return Custody(bytes.fromhex(details["custody"]), current, content["threshold"],
                               tuple(content["shares"]), second)
        raise IntegrityError("the chain's emergency summary has no custody event in the index")

    def custodian_hospitals(self) -> list[str]:
        """The registered hospitals the chain says are unsuspended, the first MAX_CUSTODIANS of them."""
        hospitals = [provider.address for provider in self.providers(hospitals_only=True)]
        standing = self.chain.call_many([("isActiveProvider", (hospital,)) for hospital in hospitals])
        return [hospital for hospital, active in zip(hospitals, standing) if active][:emergency.MAX_CUSTODIANS]

    # Doctors

    def declare_emergency(self, doctor: LocalAccount, patient: str, reason: str) -> BreakGlass:
        """Declares an emergency for the patient, with a reason sealed for the patient and the
        doctor. The window opens at once, or once a second doctor confirms if the policy asks."""
        patient = checksum(patient, "patient address")
        self._require_active_doctor(doctor.address)
        reason = clean_note(reason)
        if not reason:
            raise InvalidInput("say why: the reason goes to the patient's audit trail")
        if bytes(self.chain.call("emergencySummaryOf", patient)) == NO_DIGEST:
            raise InvalidInput("this patient has no emergency summary (or is not a registered patient)")
        with named_lock("break glass", self.chain.address, patient, doctor.address):
            declared, opened, closes_at = self.chain.call("emergencyWindowOf", patient, doctor.address)
            if closes_at or (declared and not opened and self.now() < declared + EMERGENCY_WINDOW):
                raise InvalidInput("you already declared an emergency for this patient: it is open or waiting for "
                                   "a second doctor's confirmation")
            digest = self._seal_note(REASON, doctor, patient, reason)
            self._send_or_release(digest, lambda: self.chain.transact(doctor, "declareEmergency", patient, digest),
                                  still_needed=lambda: False)
        return self._declaration(patient, doctor.address)

    def confirm_emergency(self, confirmer: LocalAccount, patient: str, doctor: str) -> BreakGlass:
        patient, doctor = checksum(patient, "patient address"), checksum(doctor, "doctor address")
        self._require_active_doctor(confirmer.address)
        if confirmer.address == doctor:
            raise InvalidInput("a second doctor must confirm: not the one who declared the emergency")
        self.chain.transact(confirmer, "confirmEmergency", patient, doctor)
        return self._declaration(patient, doctor)

    def open_emergency_summary(self, doctor: LocalAccount, patient: str) -> EmergencySummary:
        """The patient's emergency summary, for a doctor whose window the chain says is open, from
        the shares the custodians released in it (AccessDenied while too few are)."""
        patient = checksum(patient, "patient address")
        _, opened_at, closes_at = self.chain.call("emergencyWindowOf", patient, doctor.address)
        if not closes_at or closes_at <= time.time():
            raise AccessDenied("you have no open emergency window for this patient: declare an emergency first "
                               "(and, if the policy asks, have a second doctor confirm it)")
        custody = self.emergency_custody(patient)
        if custody is None:
            raise AccessDenied("this patient has withdrawn the emergency summary")
        latest = self._declaration(patient, doctor.address)
        shares = []
        for hospital, share, second in latest.releases if latest else ():
            if second >= opened_at and hospital in custody.custodians:
                words = self._released_share(doctor, patient, hospital, share, custody.digest)
                if words:
                    shares.append(words)
        key = emergency.combine_shares(shares, custody.threshold)
        header, ciphertext = envelope.decode(self.store.get(custody.summary))
        return self._opened_summary(patient, _checked(patient, header), ciphertext, key)

    # Custodian hospitals

    def emergencies_to_release(self, hospital: str) -> list[BreakGlass]:
        """Open windows of patients whose summary key `hospital` holds a share of, which it has not
        released in that window yet."""
        hospital = checksum(hospital)
        now, found = self.now(), []
        for declared in self.all_emergencies(since=now - 2 * EMERGENCY_WINDOW):
            if declared.state(now) != "open":
                continue
            try:
                custody = self.emergency_custody(declared.patient)
            except CareChainError:
                continue  # a damaged custody object: nothing this hospital can release
            if custody is None or hospital not in custody.custodians:
                continue
            since = max(declared.opened_at, custody.saved_at)  # a summary saved again needs its new shares
            if not any(h == hospital and t >= since for h, _, t in declared.releases):
                found.append(declared)
        return found

    def release_emergency_share(self, hospital: LocalAccount, patient: str, doctor: str) -> bytes:
        """Re-wraps this hospital's share of the patient's summary key for the doctor and releases
        it on chain (refused outside an open window); returns the released object's digest."""
        patient, doctor = checksum(patient, "patient address"), checksum(doctor, "doctor address")
        custody = self.emergency_custody(patient)
        if custody is None or hospital.address not in custody.custodians:
            raise InvalidInput("this hospital holds no share of this patient's emergency summary key")
        content = self._custody_object(custody.digest, patient, custody.summary)
        share = crypto.unwrap_key(content["shares"][hospital.address], hospital.address, hospital.key)
        released = {"format": SHARE_FORMAT, "version": 1, "patient": patient, "doctor": doctor,
                    "hospital": hospital.address, "custody": custody.digest.hex(),
                    "share": self._wrap_for(doctor, share)}
        digest = self.store.put(envelope.canonical_json(released))
        self._send_or_release(digest, lambda: self.chain.transact(
            hospital, "releaseEmergencyShare", patient, doctor, digest), still_needed=lambda: False)
        return digest

    # What happened

    def emergencies_of(self, patient: str, since: int = 0) -> list[BreakGlass]:
        """The patient's declarations (at or after `since`), newest first."""
        patient = checksum(patient)
        rows = self.indexed().events(patient, BREAK_GLASS_EVENTS)
        return _fold((time_, name, patient, details) for _, _, time_, name, _, details in rows
                     if time_ >= since or name != "EmergencyDeclared")

    def all_emergencies(self, since: int = 0) -> list[BreakGlass]:
        """Every declaration of every patient at or after `since`, newest first (the admin's report,
        the custodians' work)."""
        rows = self.indexed().events_named(BREAK_GLASS_EVENTS, since)
        return _fold((time_, name, patient, details) for _, _, time_, name, patient, details in rows)

    def emergency_reason(self, reader: LocalAccount, declared: BreakGlass) -> str:
        """The reason of a declaration, for the patient and the declaring doctor (see notes.py)."""
        return self._open_note(REASON, reader, declared.reason, declared.patient, declared.doctor)

    def break_glass_policy(self) -> bool:
        """Whether a declaration needs a second doctor's confirmation."""
        return bool(self.chain.call("breakGlassConfirmationRequired"))

    def set_break_glass_policy(self, admin: LocalAccount, confirmation_required: bool) -> None:
        self.chain.transact(admin, "setBreakGlassPolicy", bool(confirmation_required))

    # Helpers

    def _declaration(self, patient: str, doctor: str) -> BreakGlass | None:
        return next((found for found in self.emergencies_of(patient) if found.doctor == doctor), None)

    def _require_active_doctor(self, address: str) -> None:
        participant = self.participant(address)
        if participant is None or participant.role != "doctor":
            raise AccessDenied("only registered doctors can declare or confirm an emergency")
        if not self.chain.call("isActiveProvider", address):
            raise AccessDenied("your account, or your hospital's, is suspended")

    def _seal_summary(self, patient: LocalAccount, summary: EmergencySummary) -> tuple[bytes, bytes]:
        """Stores the summary sealed for the patient alone; returns (digest, its key)."""
        content = summary.resource_json()
        body = envelope.body_of(content, b"")
        fields = dict(patient=patient.address, author=patient.address, category=EMERGENCY_CATEGORY,
                      created_at=summary.updated_at)
        signature = crypto.sign_record(self.domain, patient.key, patient.address, patient.address, EMERGENCY_CATEGORY,
                                       summary.updated_at, keccak(body))
        payload, _ = envelope.pack_payload(signature, content, b"")
        label = b"emergency|" + keccak(envelope.canonical_json({**fields, "body": keccak(body).hex()}))
        heading = Summary("Emergency summary", fhir_datetime(summary.updated_at), "Bundle")
        digest = self.store.put(self._encrypt(patient.key, label, fields, payload, {patient.address},
                                              heading.to_bytes()))
        return digest, crypto.RecordSecrets(patient.key, self._deployment + label).key

    def _opened_summary(self, patient: str, header: envelope.Header, ciphertext: bytes, key: bytes) -> EmergencySummary:
        content, _, _ = self._unseal(key, header, ciphertext)  # checks the patient's signature
        return EmergencySummary.from_fhir(patient, content, header.created_at)

    def _wrap_for(self, recipient: str, secret: bytes) -> dict:
        return crypto.wrap_key(secret, recipient, self.public_key(recipient), secrets.token_bytes(32))

    def _custody_object(self, digest: bytes, patient: str, summary: bytes) -> dict:
        try:
            content = json.loads(self.store.get(digest))
            valid = (content["format"] == CUSTODY_FORMAT and content["patient"] == patient
                     and content["summary"] == summary.hex() and isinstance(content["shares"], dict)
                     and 1 <= content["threshold"] <= len(content["shares"]))
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise IntegrityError("the emergency summary's key custody object is damaged or not this summary's")
        return content

    def _released_share(self, doctor: LocalAccount, patient: str, hospital: str, digest: bytes,
                        custody: bytes) -> str | None:
        """The share words a hospital released to the doctor; None if the object is not a share of
        this custody for this doctor (a hospital that released junk helps nobody)."""
        try:
            content = json.loads(self.store.get(digest))
            if (content["format"], content["patient"], content["doctor"], content["hospital"], content["custody"]) \
                    != (SHARE_FORMAT, patient, doctor.address, hospital, custody.hex()):
                return None
            return crypto.unwrap_key(content["share"], doctor.address, doctor.key).decode()
        except (ValueError, KeyError, TypeError, IntegrityError):
            return None


def _checked(patient: str, header: envelope.Header) -> envelope.Header:
    if header.patient != patient or header.author != patient or header.category != EMERGENCY_CATEGORY:
        raise IntegrityError("the stored emergency summary is not this patient's")
    return header


def _fold(rows) -> list[BreakGlass]:
    """Break-glass events (time, name, patient, details), oldest first, folded into declarations,
    newest first."""
    latest: dict[tuple[str, str], int] = {}  # (patient, doctor) -> position of its latest declaration in `found`
    found: list[BreakGlass] = []
    for second, name, patient, details in rows:
        key = (patient, details["doctor"])
        if name == "EmergencyDeclared":
            latest[key] = len(found)
            found.append(BreakGlass(patient, details["doctor"], details["hospital"], bytes.fromhex(details["reason"]),
                                    second, details["awaitingConfirmation"]))
        elif key in latest:
            declared = found[latest[key]]
            found[latest[key]] = (replace(declared, confirmed_by=details["confirmer"], confirmed_at=second)
                                  if name == "EmergencyConfirmed" else
                                  replace(declared, releases=declared.releases + (
                                      (details["hospital"], bytes.fromhex(details["share"]), second),)))
    return found[::-1]
