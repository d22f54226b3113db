"""Importing a FHIR Bundle exported by another EHR: every entry validated, filed under its
category and stored as a record of its own, or skipped with the reason in words.

A Bundle of type collection, transaction, batch, document or searchset is accepted; anything
else, invalid JSON, a Bundle deeper or larger than the limits, or more than MAX_ENTRIES entries
is refused as a whole (InvalidInput) and nothing is stored.

Patient references: an exporting EHR names the patient by its own id. If the Bundle holds exactly
one Patient entry, every reference to it (its fullUrl, e.g. `urn:uuid:…`, or `Patient/<its id>`)
is rewritten to `Patient/<the patient's address>`; a resource must then be about this patient
(subject, or patient for allergies and immunizations), else it is skipped as another patient's.
The Patient entry itself is not stored: a patient's profile is the patient's own.

Importing is deterministic: a record's time is the resource's own clinical date, else the Bundle's
timestamp, so importing the same Bundle again encrypts to the same stored objects and the chain
refuses them as duplicates: the report says "already stored".
"""

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from eth_account.signers.local import LocalAccount
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from app.carechain import fhir_rules
from app.carechain.errors import AccessDenied, InvalidInput
from app.carechain.records import MAX_ATTACHMENT_SIZE, Record, check_nesting

BUNDLE_TYPES = ("collection", "transaction", "batch", "document", "searchset")
MAX_ENTRIES = 500
MAX_BUNDLE_SIZE = MAX_ATTACHMENT_SIZE  # within the web app's body limit
# The resource's own date, first found first, as the record's time (a period's start, if a period).
DATE_ELEMENTS = ("effectiveDateTime", "effectivePeriod", "issued", "occurrenceDateTime", "performedDateTime",
                 "performedPeriod", "recordedDate", "onsetDateTime", "authoredOn", "date", "period", "authored")


@dataclass(frozen=True)
class Imported:
    index: int  # the entry's position in the Bundle, from 0
    resource_type: str
    title: str
    number: int  # the record's number, as people see it
    category: str


@dataclass(frozen=True)
class Skipped:
    index: int
    resource_type: str
    reason: str


@dataclass
class ImportReport:
    imported: list[Imported] = field(default_factory=list)  # stored by this import
    skipped: list[Skipped] = field(default_factory=list)  # not stored, each with why (incl. "already stored")


class ImportFlows:
    """Flows of `CareChain` (see flows.py)."""

    def import_bundle(self, author: LocalAccount, patient: str, bundle_json: bytes) -> ImportReport:
        """Stores each entry of the Bundle as a record of `patient` by `author` (the patient, or a
        doctor storing only in the categories it may write); see the module's docstring."""
        bundle = parse_bundle(bundle_json)
        patient = self._require_role(patient, "patient")
        writable = None if author.address == patient else self.access_scope(patient, author.address)[1]
        if writable is not None and not writable:
            raise AccessDenied("you may not add records for this patient")
        known = self.participant(patient).record_count
        aliases = _patient_aliases(bundle)
        fallback_time = _bundle_time(bundle)
        report, stored_by = ImportReport(), {}  # the entry that stored each new record number
        for index, entry in enumerate(bundle.get("entry", [])):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            kind = resource.get("resourceType", "?") if isinstance(resource, dict) else "?"
            try:
                record = _record_of(resource, patient, aliases, fallback_time)
                if writable is not None and record.category not in writable:
                    raise AccessDenied(f"no write access to {record.category.label} for this patient")
                stored = self.add_record(author, patient, record)
            except (InvalidInput, AccessDenied) as error:
                report.skipped.append(Skipped(index, kind, str(error)))
                continue
            if stored.number <= known:
                report.skipped.append(Skipped(index, kind, f"already stored, as record #{stored.origin}"))
            elif stored.number in stored_by:
                report.skipped.append(Skipped(index, kind, f"the same as entry {stored_by[stored.number] + 1}"))
            else:
                stored_by[stored.number] = index
                report.imported.append(Imported(index, kind, record.title, stored.origin, record.category.label))
        return report


def parse_bundle(bundle_json: bytes | str) -> dict:
    """The Bundle as a dict, its envelope validated; refuses one that cannot be imported at all."""
    if len(bundle_json) > MAX_BUNDLE_SIZE:
        raise InvalidInput(f"the Bundle is larger than {MAX_BUNDLE_SIZE >> 20} MB")
    check_nesting(bundle_json)
    try:
        bundle = json.loads(bundle_json)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"the file is not valid JSON: {error}") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidInput("the file is not a FHIR Bundle (its resourceType must be Bundle)")
    if bundle.get("type") not in BUNDLE_TYPES:
        raise InvalidInput(f"a Bundle of type {bundle.get('type')!r} cannot be imported; "
                           f"use one of {', '.join(BUNDLE_TYPES)}")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InvalidInput("the Bundle's entry must be a list")
    if not entries:
        raise InvalidInput("the Bundle has no entries to import")
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"the Bundle has {len(entries)} entries; import at most {MAX_ENTRIES} at a time")
    try:  # the envelope: entries are validated one by one, so that one invalid entry blocks nothing else
        get_fhir_model_class("Bundle").model_validate({key: value for key, value in bundle.items() if key != "entry"})
    except ValidationError as error:
        raise InvalidInput(f"invalid FHIR Bundle: {fhir_rules.problems_of('Bundle', error)}") from None
    return bundle


def _patient_aliases(bundle: dict) -> set[str]:
    """The references naming the Bundle's one Patient entry (none if there are several)."""
    patients = [entry for entry in bundle["entry"]
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
                and entry["resource"].get("resourceType") == "Patient"]
    if len(patients) != 1:
        return set()
    entry = patients[0]
    aliases = {entry["fullUrl"]} if isinstance(entry.get("fullUrl"), str) else set()
    if isinstance(entry["resource"].get("id"), str):
        aliases.add(f"Patient/{entry['resource']['id']}")
    return aliases


def _record_of(resource, patient: str, aliases: set[str], fallback_time: int | None) -> Record:
    """The entry's resource as a record of `patient`, or InvalidInput saying why it is none."""
    if not isinstance(resource, dict):
        raise InvalidInput("the entry holds no resource")
    if resource.get("resourceType") == "Patient":
        raise InvalidInput("a Patient entry is not stored: the patient's profile is the patient's own")
    if resource.get("resourceType") == "Bundle":
        raise InvalidInput("a Bundle inside the Bundle is not imported")
    resource, attachment = _inline_attachment(_repointed(resource, aliases, f"Patient/{patient}"))
    record = Record.from_fhir(resource, attachment, created_at=0)
    try:
        fhir_rules.check_patient(record.resource, patient)
    except InvalidInput:
        element = fhir_rules.PATIENT_ELEMENT.get(record.resource_type, "subject")
        raise InvalidInput(f"the resource's {element} is another patient, or no one: it names neither this patient "
                           "nor the Bundle's Patient entry") from None
    created_at = _resource_time(record.resource) or fallback_time
    if created_at is None:
        raise InvalidInput("the resource has no date of its own and the Bundle no timestamp")
    return Record(record.resource, record.attachment, created_at)


def _inline_attachment(resource: dict) -> tuple[dict, bytes]:
    """A DocumentReference's file given inline (base64 `data`, as EHRs export it) taken out of the
    resource, which keeps its size and SHA-1 (Record.from_fhir checks those the EHR gave)."""
    contents = resource.get("content") if resource.get("resourceType") == "DocumentReference" else None
    if not isinstance(contents, list) or len(contents) != 1 or not isinstance(contents[0], dict):
        return resource, b""
    described = contents[0].get("attachment")
    if not isinstance(described, dict) or not isinstance(described.get("data"), str):
        return resource, b""
    try:
        data = base64.b64decode(described["data"], validate=True)
    except ValueError:
        raise InvalidInput("the DocumentReference's attachment data is not base64") from None
    described = {key: value for key, value in described.items() if key != "data"}
    described.setdefault("size", len(data))
    described.setdefault("hash", base64.b64encode(hashlib.sha1(data).digest()).decode())
    return {**resource, "content": [{**contents[0], "attachment": described}]}, data


def _repointed(node, aliases: set[str], reference: str):
    """`node` with every Reference to the Bundle's Patient entry naming `reference` instead."""
    if isinstance(node, dict):
        return {key: reference if key == "reference" and value in aliases else _repointed(value, aliases, reference)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_repointed(item, aliases, reference) for item in node]
    return node


def _resource_time(resource: dict) -> int | None:
    for element in DATE_ELEMENTS:
        value = resource.get(element)
        if isinstance(value, dict):
            value = value.get("start")
        if isinstance(value, str) and (second := _seconds(value)) is not None:
            return second
    return None


def _bundle_time(bundle: dict) -> int | None:
    return _seconds(bundle.get("timestamp") or (bundle.get("meta") or {}).get("lastUpdated") or "")


def _seconds(text: str) -> int | None:
    """A FHIR date or dateTime ("2024", "2024-03", "2024-03-01T10:00:00+01:00") in Unix seconds."""
    text = text.strip()
    text += {4: "-01-01", 7: "-01"}.get(len(text), "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(int(moment.timestamp()), 0)
