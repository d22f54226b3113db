"""Patient identity for those the patient chose: a profile (a FHIR Patient resource: name, birth
date, sex, phone, e-mail, optionally a photo) sealed like a record, for the patient and everyone
holding a live grant, and shown to providers as "Ada Lovelace, 36" instead of an address.

- The envelope is a record envelope (envelope.py) of category PROFILE_CATEGORY, signed by the
  patient (EIP-712, as records are), the photo travelling beside the resource as a record's
  attachment does. Its key is wrapped for the patient and for everyone who may read any category
  of the patient's records at that moment: live grantees and the active doctors of granted
  hospitals.
- The chain holds only the envelope's digest (`setProfile`, `profileOf`, `ProfileUpdated`); the
  event index mirrors it so a list of patients finds their profiles in one query.
- A new grant's key bundle carries the profile's key too (grants.py), so the grantee reads it at
  once. An update is sealed for the current readers only, under a new key, and the old envelope
  is unpinned: a revoked or lapsed provider never reads an update. Revoking also re-seals the
  current profile without the revoked provider (grants.py).
- A provider reads a profile only while the chain grants it some category of the patient's
  records. Profiles opened are kept in this process's memory (never on disk), per reader.
- Reading a profile is not logged on chain (a list of 100 patients would cost 100 transactions):
  grants, which deliver it, and updates are in the patient's audit trail.
"""

import base64
import hashlib
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from app.carechain import crypto, envelope, fhir_rules
from app.carechain.caches import ReaderCache
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.model import NO_DIGEST, checksum
from app.carechain.records import ATTACHMENT_TYPES, Category, canonical_json, fhir_datetime
from app.carechain.summaries import Summary

PROFILE_CATEGORY = 31  # the envelope's category: no record's (0-5), so a profile never passes as a record
MAX_PHOTO_SIZE = 256 << 10
PHOTO_TYPES = ("image/png", "image/jpeg")
GENDERS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}  # FHIR administrative-gender
MAX_NAME = 100
OLDEST = 130  # years: a birth date further back is a typing error
PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{2,30}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
CACHE_BYTES = 64 << 20  # decrypted profiles kept in memory, photos included


@dataclass(frozen=True)
class Profile:
    """A patient's profile, validated as a FHIR Patient resource."""

    patient: str
    given: str
    family: str
    birth_date: date
    gender: str
    phone: str = ""
    email: str = ""
    photo: bytes = b""
    photo_type: str = ""
    updated_at: int = 0

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"

    def age(self, today: date | None = None) -> int:
        today = today or datetime.now(timezone.utc).date()
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def label(self) -> str:
        """Name and age in words: "Ada Lovelace, 36"."""
        age = self.age()
        return f"{self.name}, {age if age else 'under 1'}"

    @property
    def gender_label(self) -> str:
        return GENDERS[self.gender]

    def resource(self) -> dict:
        """The FHIR Patient resource (the photo described, its bytes kept beside it)."""
        resource = {"resourceType": "Patient", "id": self.patient,
                    "name": [{"use": "official", "family": self.family, "given": [self.given]}],
                    "gender": self.gender, "birthDate": self.birth_date.isoformat()}
        telecom = [{"system": system, "value": value} for system, value in (("phone", self.phone),
                                                                             ("email", self.email)) if value]
        if telecom:
            resource["telecom"] = telecom
        if self.photo:
            resource["photo"] = [{"contentType": self.photo_type, "size": len(self.photo),
                                  "hash": base64.b64encode(hashlib.sha1(self.photo).digest()).decode()}]
        return resource

    @classmethod
    def from_fhir(cls, patient: str, resource_json: bytes, photo: bytes, updated_at: int) -> "Profile":
        """A profile from its stored form, validated again (IntegrityError if it is not one)."""
        try:
            resource = get_fhir_model_class("Patient").model_validate_json(resource_json).model_dump(
                mode="json", exclude_none=True)
            name, = resource["name"]
            contacts = {point["system"]: point["value"] for point in resource.get("telecom", [])}
            described = resource.get("photo", [{}])[0]
            profile = profile_of(patient, name["given"][0], name["family"], resource["birthDate"],
                                 resource["gender"], contacts.get("phone", ""), contacts.get("email", ""),
                                 photo, described.get("contentType", ""), updated_at)
        except (ValueError, KeyError, TypeError, InvalidInput) as error:
            raise IntegrityError(f"the stored profile is not a valid patient profile ({error})") from None
        if resource.get("id") != patient or profile.resource() != resource:
            raise IntegrityError("the stored profile names another patient or carries unexpected elements")
        return profile


def profile_of(patient: str, given: str, family: str, birth_date, gender: str, phone: str = "", email: str = "",
               photo: bytes = b"", photo_type: str = "", updated_at: int | None = None) -> Profile:
    """A checked profile; InvalidInput says what to correct."""
    given, family = _name(given, "given name"), _name(family, "family name")
    birth_date = _birth_date(birth_date)
    if gender not in GENDERS:
        raise InvalidInput(f"sex must be one of {', '.join(GENDERS)} (FHIR administrative gender)")
    phone, email = (phone or "").strip(), (email or "").strip()
    if phone and not PHONE.fullmatch(phone):
        raise InvalidInput("the phone number may hold only digits, spaces, + ( ) . / and -")
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        raise InvalidInput("the e-mail address is not valid (name@example.org)")
    _check_photo(photo, photo_type)
    profile = Profile(checksum(patient, "patient address"), given, family, birth_date, gender, phone, email,
                      photo, photo_type if photo else "", int(time.time()) if updated_at is None else updated_at)
    try:  # the product's own checks are stricter; this keeps the resource valid FHIR R4
        get_fhir_model_class("Patient").model_validate(profile.resource())
    except ValidationError as error:
        raise InvalidInput(f"invalid FHIR Patient: {fhir_rules.problems_of('Patient', error)}") from None
    return profile


def _name(text: str, what: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput(f"the {what} is required")
    if len(text) > MAX_NAME:
        raise InvalidInput(f"the {what} is longer than {MAX_NAME} characters")
    if not any(character.isalpha() for character in text):
        raise InvalidInput(f"the {what} has no letter")
    if any(unicodedata.category(character)[0] == "C" for character in text):  # e.g. a right-to-left override
        raise InvalidInput(f"the {what} holds a control or invisible character")
    return text


def _birth_date(value) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"the birth date {value!r} is not a date (YYYY-MM-DD)") from None
    if not isinstance(value, date):
        raise InvalidInput("the birth date is required")
    today = datetime.now(timezone.utc).date()
    if value > today:
        raise InvalidInput("the birth date is in the future")
    if today.year - value.year > OLDEST:
        raise InvalidInput(f"the birth date is more than {OLDEST} years ago")
    return value


def _check_photo(photo: bytes, photo_type: str) -> None:
    if not photo:
        return
    if photo_type not in PHOTO_TYPES:
        raise InvalidInput(f"a photo must be PNG or JPEG, not {photo_type or 'an unknown type'}")
    if len(photo) > MAX_PHOTO_SIZE:
        raise InvalidInput(f"the photo is larger than {MAX_PHOTO_SIZE >> 10} KB")
    if not photo.startswith(ATTACHMENT_TYPES[photo_type]):
        raise InvalidInput(f"the photo's content is not {photo_type}")


def _weight(profile: Profile) -> int:
    return len(profile.photo) + 1024


# Profiles opened in this process (see caches.py), within CACHE_BYTES.
CACHE = ReaderCache(CACHE_BYTES, _weight)


class ProfileFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store and the other flows."""

    def write_profile(self, patient: LocalAccount, profile: Profile) -> set[str]:
        """Seals `profile` for the patient and everyone who may read any of its records now, pins it
        and points the chain at it; the previous version is unpinned. Returns who can read it.
        Sending the same profile twice stores it once and sends no second transaction."""
        if profile.patient != patient.address:
            raise InvalidInput("a patient writes only its own profile")
        self._require_role(patient.address, "patient")
        with self._storage_lock(patient.address):
            return self._seal_profile(patient, profile)

    def remove_profile(self, patient: LocalAccount) -> None:
        """Withdraws the profile: the chain points at nothing and the envelope is unpinned."""
        with self._storage_lock(patient.address):
            current = bytes(self.chain.call("profileOf", patient.address))
            if current != NO_DIGEST:
                self.chain.transact(patient, "setProfile", NO_DIGEST)
                self.store.unpin(current)

    def own_profile(self, patient: LocalAccount) -> Profile | None:
        digest = bytes(self.chain.call("profileOf", patient.address))
        return self._profile_at(patient, patient.address, digest) if digest != NO_DIGEST else None

    def profiles_seen_by(self, reader: LocalAccount, patients) -> dict[str, Profile]:
        """The profiles of `patients` that `reader` (a doctor or hospital) may see now: those whose
        patient's live grant (the reader's own or, for a doctor, its hospital's) the chain confirms,
        and whose key reached the reader. Index queries and one batch of calls for the whole list;
        each profile is fetched and opened once per reader and version (see caches.py)."""
        live = self._live_scopes(reader.address, patients)
        digests = self.index.profiles(list(live))
        asked = [patient for patient in live if patient in digests]
        allowed = self.chain.call_many([("canAccess", (patient, reader.address, int(live[patient])))
                                        for patient in asked])
        found = {}
        for patient, may in zip(asked, allowed):
            if may:
                try:
                    profile = self._profile_at(reader, patient, digests[patient])
                except IntegrityError:
                    profile = None  # a damaged or undelivered profile: the page shows the address
                if profile is not None:
                    found[patient] = profile
        return found

    def profile_seen_by(self, reader: LocalAccount, patient: str) -> Profile | None:
        return self.profiles_seen_by(reader, [checksum(patient, "patient address")]).get(checksum(patient))

    def reseal_profile(self, patient: LocalAccount) -> None:
        """Seals the current profile again for those who may read now (after a revocation): keys
        delivered before open nothing the node still holds."""
        with self._storage_lock(patient.address):
            profile = self.own_profile(patient)
            if profile is not None:
                self._seal_profile(patient, profile)

    def _live_scopes(self, reader: str, patients) -> dict[str, Category]:
        """patient -> a category of a grant covering `reader` that the caught-up index holds live by
        the wall clock, for those of `patients` who have one (the chain then confirms it)."""
        wanted, now = set(patients), self.now()
        return {access.patient: access.grant.categories[0] for access in self.patients_of(reader)
                if access.patient in wanted and access.grant.active(now)}

    def _profile_readers(self, patient: str) -> set[str]:
        """The patient and everyone who may read some category of its records now."""
        readers = {patient}
        for category in Category:
            readers |= self.readers(patient, category)
        return readers

    def _seal_profile(self, patient: LocalAccount, profile: Profile) -> set[str]:
        """Runs under the patient's storage lock. The key is derived from the content, the time and
        the readers, so a retry gives the same envelope and a new set of readers a new key."""
        readers = self._profile_readers(patient.address)
        resource_json = canonical_json(profile.resource())
        body = envelope.body_of(resource_json, profile.photo)
        fields = dict(patient=patient.address, author=patient.address, category=PROFILE_CATEGORY,
                      created_at=profile.updated_at)
        signature = crypto.sign_record(self.domain, patient.key, patient.address, patient.address, PROFILE_CATEGORY,
                                       profile.updated_at, keccak(body))
        payload, _ = envelope.pack_payload(signature, resource_json, profile.photo)
        label = b"profile|" + keccak(canonical_json({**fields, "body": keccak(body).hex(), "readers": sorted(readers)}))
        summary = Summary("Patient profile", fhir_datetime(profile.updated_at), "Patient")  # the envelope's format
        digest = self.store.put(self._encrypt(patient.key, label, fields, payload, readers, summary.to_bytes()))
        current = bytes(self.chain.call("profileOf", patient.address))
        if current != digest:
            self._send_or_release(digest, lambda: self.chain.transact(patient, "setProfile", digest),
                                  still_needed=lambda: bytes(self.chain.call("profileOf", patient.address)) == digest)
            if current != NO_DIGEST:
                self.store.unpin(current)
        return readers

    def _profile_keys(self, patient: LocalAccount, recipients: list[str]) -> dict:
        """{profile digest: {recipient: wrapped key}} for a grant's key bundle; empty without a
        readable profile."""
        digest = bytes(self.chain.call("profileOf", patient.address))
        if digest == NO_DIGEST:
            return {}
        try:
            header = _checked(patient.address, self._header(digest))
            key = self._patient_key(patient, header)
        except IntegrityError:
            return {}
        return {digest.hex(): self._wrapped_for(patient, key, digest, recipients)}

    def _profile_at(self, reader: LocalAccount, patient: str, digest: bytes) -> Profile | None:
        """Opens the profile stored under `digest` (verified: digest, header, key, signature, FHIR);
        None when its key was never delivered to `reader`."""
        cached = CACHE.get(reader.address, digest)
        if cached is not None:
            return cached
        header, ciphertext = envelope.decode(self.store.get(digest))
        _checked(patient, header)  # the author, who signed it, is the patient
        try:
            key = self._record_key(reader, patient, digest, header)
        except AccessDenied:
            return None
        resource_json, photo, _ = self._unseal(key, header, ciphertext)
        profile = Profile.from_fhir(patient, resource_json, photo, header.created_at)
        CACHE.put(reader.address, digest, profile)
        return profile


def _checked(patient: str, header: envelope.Header) -> envelope.Header:
    if header.patient != patient or header.author != patient or header.category != PROFILE_CATEGORY:
        raise IntegrityError("the stored profile is not this patient's profile")
    return header
