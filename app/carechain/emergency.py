"""The emergency summary: what an emergency room needs to know at once (allergies, medications,
problems, blood type, implants, whom to call), as an HL7 International Patient Summary (IPS): a
FHIR R4 document Bundle whose first entry is a Composition with the IPS sections, validated with
`fhir.resources` (R4B models, as records.py does). Pure building, reading and key splitting; the
flows that seal, release and open it are in break_glass.py.

- Built from the patient's records with one click (`from_records`): active conditions become
  problems, current allergies and intolerances allergies, active prescriptions medications, and an
  ABO/Rh Observation (LOINC 882-1) the blood type. Implants and the emergency contact are typed by
  the patient (no record type carries them). Every section is lines in words, edited before saving.
- The summary's key is split with Shamir's secret sharing (SLIP-0039, `shamir-mnemonic`) into one
  share per custodian hospital, any `threshold` of which restore it (`split_key`, `combine_shares`).
"""

import html
import re
import time
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import shamir_mnemonic
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from shamir_mnemonic import MnemonicError, Share

from app.carechain import fhir_rules
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.model import checksum
from app.carechain.records import Record, canonical_json, fhir_datetime
from app.carechain.titles import CRITICALITY, name_of

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
IPS_DOCUMENT = ("60591-5", "Patient summary Document")
BLOOD_GROUP = ("882-1", "ABO and Rh group [Type] in Blood")
# section -> (LOINC code, title)
SECTIONS = {
    "allergies": ("48765-2", "Allergies and intolerances"),
    "medications": ("10160-0", "Medication summary"),
    "problems": ("11450-4", "Problem list"),
    "results": ("30954-2", "Results"),
    "implants": ("46264-8", "Medical devices and implants"),
}
BLOOD_TYPES = {  # what the form offers -> SNOMED CT finding
    "A+": ("278149003", "Blood group A Rh(D) positive"), "A-": ("278152006", "Blood group A Rh(D) negative"),
    "B+": ("278150003", "Blood group B Rh(D) positive"), "B-": ("278153001", "Blood group B Rh(D) negative"),
    "AB+": ("278151004", "Blood group AB Rh(D) positive"), "AB-": ("278154007", "Blood group AB Rh(D) negative"),
    "O+": ("278147001", "Blood group O Rh(D) positive"), "O-": ("278148006", "Blood group O Rh(D) negative"),
}
MAX_LINES = 50  # per section
MAX_LINE = 200  # characters
PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{2,30}")
ACTIVE_PROBLEMS = ("active", "recurrence", "relapse")
PAST_ALLERGIES = ("inactive", "resolved")
DOUBTED = ("refuted", "entered-in-error")
CURRENT_PRESCRIPTIONS = ("active", "on-hold")
MAX_CUSTODIANS = 16  # SLIP-0039's most shares in a group


@dataclass(frozen=True)
class EmergencySummary:
    """A patient's emergency summary, checked: each section a tuple of lines in words."""

    patient: str
    allergies: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    blood_type: str = ""  # a key of BLOOD_TYPES, or "" unknown
    implants: tuple[str, ...] = ()
    contact_name: str = ""
    contact_relationship: str = ""
    contact_phone: str = ""
    updated_at: int = field(default_factory=lambda: int(time.time()))

    def bundle(self) -> dict:
        """The IPS document: a FHIR R4 Bundle of type document, Composition first."""
        ids = _Ids(self.patient, self.updated_at)
        subject = {"reference": ids.url("patient")}
        entries: dict[str, list[tuple[str, dict]]] = {name: [] for name in SECTIONS}
        for number, text in enumerate(self.allergies):
            entries["allergies"].append((ids.url("allergy", number), {
                "resourceType": "AllergyIntolerance", "patient": subject, "code": {"text": text},
                "clinicalStatus": _coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                          "active", "Active")}))
        for number, text in enumerate(self.medications):
            entries["medications"].append((ids.url("medication", number), {
                "resourceType": "MedicationStatement", "status": "active", "subject": subject,
                "medicationCodeableConcept": {"text": text}}))
        for number, text in enumerate(self.problems):
            entries["problems"].append((ids.url("problem", number), {
                "resourceType": "Condition", "subject": subject, "code": {"text": text},
                "clinicalStatus": _coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active",
                                          "Active")}))
        if self.blood_type:
            code, display = BLOOD_TYPES[self.blood_type]
            entries["results"].append((ids.url("blood-group"), {
                "resourceType": "Observation", "status": "final", "subject": subject,
                "category": [_coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory",
                                     "Laboratory")],
                "code": _coding(LOINC, *BLOOD_GROUP),
                "valueCodeableConcept": {**_coding(SNOMED, code, display), "text": self.blood_type}}))
        for number, text in enumerate(self.implants):
            entries["implants"].append((ids.url("implant", number), {
                "resourceType": "Device", "patient": subject,
                "deviceName": [{"name": text, "type": "user-friendly-name"}]}))
        patient = {"resourceType": "Patient", "identifier": [{"system": "urn:ietf:rfc:3986",
                                                              "value": f"urn:ethereum:{self.patient}"}]}
        if self.contact_name or self.contact_phone:
            contact = {"relationship": [{"text": self.contact_relationship or "Emergency contact"}]}
            if self.contact_name:
                contact["name"] = {"text": self.contact_name}
            if self.contact_phone:
                contact["telecom"] = [{"system": "phone", "value": self.contact_phone}]
            patient["contact"] = [contact]
        composition = {
            "resourceType": "Composition", "status": "final", "type": _coding(LOINC, *IPS_DOCUMENT),
            "subject": subject, "date": fhir_datetime(self.updated_at), "author": [subject],
            "title": "Emergency summary (International Patient Summary)", "confidentiality": "R",
            "section": [_section(name, [(url, _line_of(resource)) for url, resource in found])
                        for name, found in entries.items()]}
        return {
            "resourceType": "Bundle", "type": "document", "timestamp": fhir_datetime(self.updated_at),
            "identifier": {"system": "urn:ietf:rfc:3986", "value": ids.url("document")},
            "entry": [{"fullUrl": ids.url("composition"), "resource": composition},
                      {"fullUrl": ids.url("patient"), "resource": patient}]
                     + [{"fullUrl": url, "resource": resource} for found in entries.values() for url, resource in found],
        }

    def resource_json(self) -> bytes:
        """The bundle, validated as FHIR, as stored: canonical JSON."""
        return _validated(self.bundle())

    @classmethod
    def from_fhir(cls, patient: str, resource_json: bytes, updated_at: int) -> "EmergencySummary":
        """A summary from its stored form, checked again (IntegrityError if it is not this
        patient's emergency summary as this module writes it)."""
        try:
            bundle = get_fhir_model_class("Bundle").model_validate_json(resource_json).model_dump(
                mode="json", exclude_none=True)
            resources = [entry["resource"] for entry in bundle["entry"]]
            lines = {kind: tuple(_line_of(r) for r in resources if r["resourceType"] == kind)
                     for kind in ("AllergyIntolerance", "MedicationStatement", "Condition", "Device")}
            blood = [r["valueCodeableConcept"]["text"] for r in resources if r["resourceType"] == "Observation"]
            contact = (resources[1].get("contact") or [{}])[0]
            summary = summary_of(patient, lines["AllergyIntolerance"], lines["MedicationStatement"],
                                 lines["Condition"], blood[0] if blood else "", lines["Device"],
                                 contact.get("name", {}).get("text", ""),
                                 contact.get("relationship", [{}])[0].get("text", ""),
                                 (contact.get("telecom") or [{}])[0].get("value", ""), updated_at)
        except (ValueError, KeyError, TypeError, IndexError, InvalidInput) as error:
            raise IntegrityError(f"the stored emergency summary is not a valid summary ({error})") from None
        if summary.bundle() != bundle:
            raise IntegrityError("the stored emergency summary names another patient or carries unexpected elements")
        return summary

    @property
    def is_empty(self) -> bool:
        return not (self.allergies or self.medications or self.problems or self.blood_type or self.implants
                    or self.contact_name or self.contact_phone)


def summary_of(patient: str, allergies: Iterable[str] | str = (), medications: Iterable[str] | str = (),
               problems: Iterable[str] | str = (), blood_type: str = "", implants: Iterable[str] | str = (),
               contact_name: str = "", contact_relationship: str = "", contact_phone: str = "",
               updated_at: int | None = None) -> EmergencySummary:
    """A checked summary; each section is lines (a list, or text with one line each). InvalidInput
    says what to correct."""
    blood_type = (blood_type or "").strip().upper()
    if blood_type and blood_type not in BLOOD_TYPES:
        raise InvalidInput(f"the blood type must be one of {', '.join(BLOOD_TYPES)}, or left empty")
    contact_phone = (contact_phone or "").strip()
    if contact_phone and not PHONE.fullmatch(contact_phone):
        raise InvalidInput("the contact's phone number may hold only digits, spaces, + ( ) . / and -")
    contact_name = _line(contact_name, "the contact's name")
    if (contact_name or contact_phone) and not (contact_name and contact_phone):
        raise InvalidInput("an emergency contact needs a name and a phone number")
    summary = EmergencySummary(
        checksum(patient, "patient address"), _lines(allergies, "allergies"), _lines(medications, "medications"),
        _lines(problems, "problems"), blood_type, _lines(implants, "implants"), contact_name,
        _line(contact_relationship, "the contact's relationship"), contact_phone,
        int(time.time()) if updated_at is None else updated_at)
    _validated(summary.bundle())
    return summary


def from_records(patient: str, records: Iterable[Record], previous: EmergencySummary | None = None,
                 updated_at: int | None = None) -> EmergencySummary:
    """A summary built from the patient's records: current allergies, active prescriptions, active
    problems and the latest blood group; implants and the contact are kept from `previous`."""
    allergies, medications, problems, blood = [], [], [], ("", -1)
    for record in records:
        resource, kind = record.resource, record.resource_type
        if kind == "AllergyIntolerance" and not _status_in(resource, PAST_ALLERGIES + DOUBTED):
            severity = CRITICALITY.get(resource.get("criticality"))
            name = name_of(resource.get("code"), "unnamed substance")
            allergies.append(f"{name} ({severity})" if severity else name)
        elif kind == "MedicationRequest" and resource["status"] in CURRENT_PRESCRIPTIONS:
            dosage = next((d["text"] for d in resource.get("dosageInstruction", []) if d.get("text")), "")
            name = name_of(resource.get("medicationCodeableConcept"), "unnamed medication")
            medications.append(f"{name}, {dosage}" if dosage else name)
        elif kind == "Condition" and (_status(resource, "clinicalStatus") in ACTIVE_PROBLEMS + (None,)
                                      and not _status_in(resource, DOUBTED)):
            problems.append(name_of(resource.get("code"), "unnamed condition"))
        elif kind == "Observation" and _is_blood_group(resource) and record.created_at > blood[1]:
            blood = (_blood_type_in(resource.get("valueCodeableConcept") or {}), record.created_at)
    previous = previous or EmergencySummary(patient)
    return summary_of(patient, _unique(allergies), _unique(medications), _unique(problems), blood[0] or
                      previous.blood_type, previous.implants, previous.contact_name, previous.contact_relationship,
                      previous.contact_phone, updated_at)


# The key's custody: SLIP-0039 shares

def threshold_for(custodians: int) -> int:
    """How many custodian hospitals must release their shares: two, so that no single hospital
    opens a summary alone, unless the consortium has only one."""
    return min(2, custodians)


def split_key(key: bytes, custodians: int) -> tuple[int, list[str]]:
    """(threshold, one SLIP-0039 share in words per custodian) of `key`."""
    if not 1 <= custodians <= MAX_CUSTODIANS:
        raise InvalidInput(f"the key can be split among 1 to {MAX_CUSTODIANS} hospitals, not {custodians}")
    threshold = threshold_for(custodians)
    (shares,) = shamir_mnemonic.generate_mnemonics(1, [(threshold, custodians)], key, iteration_exponent=0)
    return threshold, shares


def combine_shares(shares: Iterable[str], threshold: int) -> bytes:
    """The key from `threshold` distinct shares of one split; AccessDenied while fewer are at hand."""
    distinct: dict[int, str] = {}
    identifiers = set()
    for words in shares:
        try:
            share = Share.from_mnemonic(words)
        except MnemonicError:
            raise IntegrityError("a released share of the summary's key is damaged") from None
        identifiers.add(share.identifier)
        distinct[share.index] = words
    if len(identifiers) > 1:
        raise IntegrityError("the released shares belong to different keys")
    if len(distinct) < threshold:
        raise AccessDenied(f"{len(distinct)} of the {threshold} key shares needed have been released so far")
    try:
        return shamir_mnemonic.combine_mnemonics(sorted(distinct.values())[:threshold])
    except MnemonicError as error:
        raise IntegrityError(f"the released shares do not combine: {error}") from None


# Helpers

class _Ids:
    """The document's fullUrls: urn:uuid's derived from the patient and the version, so the same
    summary always makes the same document."""

    def __init__(self, patient: str, updated_at: int):
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:carechain:emergency:{patient}:{updated_at}")

    def url(self, kind: str, number: int = 0) -> str:
        return f"urn:uuid:{uuid.uuid5(self._namespace, f'{kind}/{number}')}"


def _coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _section(name: str, lines: list[tuple[str, str]]) -> dict:
    code, title = SECTIONS[name]
    items = "".join(f"<li>{html.escape(text)}</li>" for _, text in lines)
    section = {"title": title, "code": _coding(LOINC, code, title),
               "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
                        + (f"<ul>{items}</ul>" if items else "<p>None recorded</p>") + "</div>"}}
    if lines:
        section["entry"] = [{"reference": url} for url, _ in lines]
    else:
        section["emptyReason"] = _coding("http://terminology.hl7.org/CodeSystem/list-empty-reason", "unavailable",
                                         "Unavailable")
    return section


def _line_of(resource: dict) -> str:
    kind = resource["resourceType"]
    if kind == "Device":
        return resource["deviceName"][0]["name"]
    if kind == "Observation":
        return f"Blood type {resource['valueCodeableConcept']['text']}"
    return (resource.get("code") or resource.get("medicationCodeableConcept"))["text"]


def _validated(bundle: dict) -> bytes:
    """Validates the bundle and each resource in it as FHIR R4; returns its canonical JSON."""
    try:
        for entry in bundle["entry"]:
            kind = entry["resource"]["resourceType"]
            get_fhir_model_class(kind).model_validate(entry["resource"])
            if kind in fhir_rules.REQUIRED_CODES:
                fhir_rules.check_codes(kind, entry["resource"])
        get_fhir_model_class("Bundle").model_validate(bundle)
    except ValidationError as error:
        raise InvalidInput(f"invalid FHIR emergency summary: {fhir_rules.problems_of('Bundle', error)}") from None
    return canonical_json(bundle)


def _lines(value: Iterable[str] | str, what: str) -> tuple[str, ...]:
    lines = (value or "").splitlines() if isinstance(value, str) else list(value or ())
    lines = _unique(_line(line, f"a line of {what}") for line in lines)
    lines = tuple(line for line in lines if line)
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"{what}: at most {MAX_LINES} lines")
    return lines


def _line(text: str, what: str) -> str:
    text = " ".join((text or "").split())
    if len(text) > MAX_LINE:
        raise InvalidInput(f"{what} is longer than {MAX_LINE} characters")
    if any(unicodedata.category(character)[0] == "C" for character in text):
        raise InvalidInput(f"{what} holds a control or invisible character")
    return text


def _unique(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _status(resource: dict, element: str) -> str | None:
    return next((coding.get("code") for coding in (resource.get(element) or {}).get("coding", [])), None)


def _status_in(resource: dict, codes: tuple[str, ...]) -> bool:
    return _status(resource, "clinicalStatus") in codes or _status(resource, "verificationStatus") in codes


def _is_blood_group(resource: dict) -> bool:
    return any(coding.get("system") == LOINC and coding.get("code") == BLOOD_GROUP[0]
               for coding in resource.get("code", {}).get("coding", []))


def _blood_type_in(concept: dict) -> str:
    """"A+" etc. from a SNOMED coding or the text ("A Rh+", "O negative"); "" if not told."""
    for coding in concept.get("coding", []):
        for blood_type, (code, _) in BLOOD_TYPES.items():
            if coding.get("system") == SNOMED and coding.get("code") == code:
                return blood_type
    text = (concept.get("text") or "").upper().replace("RH", "").replace("POSITIVE", "+").replace("NEGATIVE", "-")
    text = "".join(text.split())
    return text if text in BLOOD_TYPES else ""
