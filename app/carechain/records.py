"""Record contents: FHIR R4 resources (validated with `fhir.resources`, R4B models, which are
R4-compatible for every resource used here), mapped to the on-chain categories.

Vital signs (their vocabulary, device readings, window Bundles) are built in vitals.py, and
early-warning alerts (RiskAssessment) in early_warning.py; this module validates and files them.
The codes of required bindings, which the models leave unchecked, are checked in fhir_rules.py;
a record's one-line title is made in titles.py.

Categories (a grant's scope; no new ones, so grants keep their meaning):
  Vitals       Observation (vital-signs or no category), RiskAssessment, a window Bundle
  Labs         Observation with category `laboratory`, DiagnosticReport, ServiceRequest (orders for
               tests and imaging, unless a surgical procedure, counselling or education)
  Conditions   Condition, AllergyIntolerance, Procedure, CarePlan, and those other ServiceRequests
  Medications  MedicationRequest, Immunization
  Documents    DocumentReference, Composition (e.g. a discharge summary), Encounter; a
               DocumentReference or Composition may name another category in CATEGORY_SYSTEM

A record is one FHIR resource plus, for a DocumentReference, the attached file's bytes, which
travel beside the JSON instead of base64 inside it (the attachment's size and SHA-1 are in the
resource, as FHIR defines them).
"""

import base64
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from enum import IntEnum

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from app.carechain import fhir_rules
from app.carechain.errors import InvalidInput
from app.carechain.titles import title_of

MAX_RESOURCE_SIZE = 1 << 20
MAX_ATTACHMENT_SIZE = 20 << 20
MAX_NESTING = 64  # FHIR resources nest a dozen levels or so; parsers recurse once per level
JSON_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"')
JSON_BRACKETS = re.compile(r"[\[\]{}]")


class Category(IntEnum):
    """On-chain category codes (bit positions of a grant's scope)."""

    VITALS = 0
    LABS = 1
    CONDITIONS = 2
    MEDICATIONS = 3
    DOCUMENTS = 4
    # Copies of records the patient shared with parts removed (sharing.py), granted on their own:
    # a provider granted only these reads the copies, never the originals.
    SHARED = 5

    @property
    def label(self) -> str:
        return "Shared copies" if self is Category.SHARED else self.name.capitalize()


def categories_mask(categories) -> int:
    mask = 0
    for category in categories:
        mask |= 1 << Category(category)
    return mask


def categories_in(mask: int) -> list[Category]:
    return [category for category in Category if mask >> category & 1]


# Attachment types a record may carry, with the leading bytes that identify them.
ATTACHMENT_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "text/plain": (),
}


def _observation_category(resource: dict) -> Category:
    return Category.LABS if "laboratory" in _category_codes(resource) else Category.VITALS


def _category_codes(resource: dict) -> set:
    return {coding.get("code") for concept in resource.get("category", []) for coding in concept.get("coding", [])}


# A Bundle record is one time window of device vital signs (vitals.window_bundle): a collection of
# vital-signs Observations and the early-warning RiskAssessments raised on them, nothing else, so
# that whoever may read Vitals may read all of it.
BUNDLE_ENTRIES = ("Observation", "RiskAssessment")


def _bundle_category(resource: dict) -> Category:
    if resource.get("type") != "collection":
        raise InvalidInput("a Bundle record is a collection (of one time window's vital signs)")
    entries = [entry.get("resource") or {} for entry in resource.get("entry", [])]
    if not entries:
        raise InvalidInput("a Bundle record holds at least one vital-signs Observation")
    for entry in entries:
        kind = entry.get("resourceType")
        if kind not in BUNDLE_ENTRIES:
            raise InvalidInput(f"a Bundle record holds only vital-signs Observations and RiskAssessments, not {kind}")
        if kind == "Observation" and "vital-signs" not in _category_codes(entry):
            raise InvalidInput("a Bundle record holds only vital-signs Observations; one has another category")
        allowed = fhir_rules.allowed_codes(kind, "status")
        if entry.get("status") not in allowed:
            raise InvalidInput(f"invalid FHIR {kind} in the Bundle: status must be one of {', '.join(allowed)}")
    return Category.VITALS


# The period a window Bundle covers, in its meta (a Bundle is a Resource, with no extensions of its own).
WINDOW_EXTENSION = "urn:carechain:window"


# A document belongs to the Documents category unless it names another one in this code system
# (a scanned lab report filed under Labs is shared with whoever may read lab results).
CATEGORY_SYSTEM = "urn:carechain:record-category"


def _document_category(resource: dict) -> Category:
    codes = [coding.get("code", "") for concept in resource.get("category", []) for coding in concept.get("coding", [])
             if coding.get("system") == CATEGORY_SYSTEM]
    if not codes:
        return Category.DOCUMENTS
    filed = [category for category in Category if category is not Category.SHARED]
    if len(codes) > 1 or codes[0].upper() not in {category.name for category in filed}:
        raise InvalidInput(f"a document names one record category of {CATEGORY_SYSTEM}: "
                           f"{', '.join(c.name.lower() for c in filed)}")
    return Category[codes[0].upper()]


# ServiceRequest categories (SNOMED CT, FHIR's example value set) that ask for treatment rather
# than a diagnostic result: surgical procedure, counselling, education. They are filed with the
# conditions they treat; every other request (laboratory, imaging, none) with the results it orders.
TREATMENT_REQUESTS = {"387713003", "409063005", "409073007"}


def _service_request_category(resource: dict) -> Category:
    return Category.CONDITIONS if _category_codes(resource) & TREATMENT_REQUESTS else Category.LABS


def _always(category: Category):
    return lambda resource: category


CATEGORY_OF = {
    "Observation": _observation_category,
    "DiagnosticReport": _always(Category.LABS),
    "ServiceRequest": _service_request_category,
    "Condition": _always(Category.CONDITIONS),
    "AllergyIntolerance": _always(Category.CONDITIONS),
    "Procedure": _always(Category.CONDITIONS),
    "CarePlan": _always(Category.CONDITIONS),
    "MedicationRequest": _always(Category.MEDICATIONS),
    "Immunization": _always(Category.MEDICATIONS),
    "DocumentReference": _document_category,
    "Composition": _document_category,
    "Encounter": _always(Category.DOCUMENTS),
    "Bundle": _bundle_category,
    "RiskAssessment": _always(Category.VITALS),
}


@dataclass(frozen=True)
class Record:
    """A validated FHIR resource (as JSON-ready dict) and its attachment, created at a second."""

    resource: dict
    attachment: bytes = b""
    created_at: int = field(default_factory=lambda: int(time.time()))

    @classmethod
    def from_fhir(cls, data, attachment: bytes = b"", created_at: int | None = None) -> "Record":
        """Validates a FHIR resource given as JSON text, bytes or a dict; refuses anything invalid."""
        if isinstance(data, (str, bytes)):
            if len(data) > MAX_RESOURCE_SIZE:
                raise InvalidInput(f"the FHIR resource is larger than {MAX_RESOURCE_SIZE >> 20} MB")
            check_nesting(data)
            try:
                data = json.loads(data)
            except ValueError as error:
                raise InvalidInput(f"the FHIR resource is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise InvalidInput("a FHIR resource must be a JSON object")
        kind = data.get("resourceType")
        if kind not in CATEGORY_OF:
            supported = ", ".join(sorted(CATEGORY_OF))
            raise InvalidInput(f"FHIR resource type {kind!r} is not supported; use one of {supported}")
        try:
            model = get_fhir_model_class(kind).model_validate(data)
        except ValidationError as error:
            raise InvalidInput(f"invalid FHIR {kind}: {fhir_rules.problems_of(kind, error)}") from None
        resource = model.model_dump(mode="json", exclude_none=True)
        if len(canonical_json(resource)) > MAX_RESOURCE_SIZE:
            raise InvalidInput(f"the FHIR resource is larger than {MAX_RESOURCE_SIZE >> 20} MB")
        fhir_rules.check_codes(kind, resource)
        _check_attachment(resource, attachment)
        CATEGORY_OF[kind](resource)  # refuses a document naming an unknown category
        return cls(resource, attachment, int(time.time()) if created_at is None else created_at)

    @property
    def resource_type(self) -> str:
        return self.resource["resourceType"]

    @property
    def category(self) -> Category:
        return CATEGORY_OF[self.resource_type](self.resource)

    @property
    def resource_json(self) -> bytes:
        return canonical_json(self.resource)

    @property
    def title(self) -> str:
        """A one-line summary for lists, e.g. "Heart rate: 72 beats/minute"."""
        return _bundle_title(self.resource) if self.resource_type == "Bundle" else title_of(self.resource)

    @property
    def content_type(self) -> str | None:
        if self.resource_type != "DocumentReference":
            return None
        return self.resource["content"][0]["attachment"].get("contentType")


def canonical_json(resource: dict) -> bytes:
    """The resource as stored and hashed: sorted keys, no spaces."""
    return json.dumps(resource, sort_keys=True, separators=(",", ":")).encode()


def _bundle_title(resource: dict) -> str:
    """E.g. "Vital signs: 150 readings, 2025-03-01 10:00-10:15 UTC, with an alert"."""
    kinds = [entry["resource"]["resourceType"] for entry in resource["entry"]]
    readings = kinds.count("Observation")
    title = f"Vital signs: {readings} reading{'s' * (readings != 1)}"
    window = next((extension["valuePeriod"] for extension in resource.get("meta", {}).get("extension", [])
                   if extension.get("url") == WINDOW_EXTENSION), None)
    if window:
        start, end = window["start"][:16].replace("T", " "), window["end"][:16].replace("T", " ")
        title += f", {start}-{end[11:] if end[:10] == start[:10] else end} UTC"
    return title + (", with an alert" if "RiskAssessment" in kinds else "")


def check_nesting(text: str | bytes) -> None:
    """Refuses JSON nested deeper than any FHIR resource is, before a parser recurses into it."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    depth = 0
    for bracket in JSON_BRACKETS.findall(JSON_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_NESTING:
            raise InvalidInput(f"the FHIR resource is nested more than {MAX_NESTING} levels deep")


def _check_attachment(resource: dict, attachment: bytes) -> None:
    if resource["resourceType"] != "DocumentReference":
        if attachment:
            raise InvalidInput("only a DocumentReference can carry an attached file")
        return
    if len(resource["content"]) != 1:
        raise InvalidInput("a DocumentReference record carries exactly one attachment")
    described = resource["content"][0]["attachment"]
    if "data" in described or "url" in described:
        raise InvalidInput("give the attached file's bytes separately, not as data or url in the resource")
    check_file(attachment, described.get("contentType"))
    if described.get("size") != len(attachment) or described.get("hash") != _sha1(attachment):
        raise InvalidInput("the attachment's size or hash does not match the DocumentReference")


def check_file(data: bytes, content_type: str | None) -> None:
    """Refuses empty, oversized and unsupported files, and files whose bytes are not their type."""
    if not data:
        raise InvalidInput("the file is empty")
    if content_type not in ATTACHMENT_TYPES:
        allowed = ", ".join(ATTACHMENT_TYPES)
        raise InvalidInput(f"files of type {content_type or 'unknown'} are not accepted; use {allowed}")
    if len(data) > MAX_ATTACHMENT_SIZE:
        raise InvalidInput(f"the file is larger than the {MAX_ATTACHMENT_SIZE >> 20} MB limit")
    signatures = ATTACHMENT_TYPES[content_type]
    if signatures and not data.startswith(signatures):
        raise InvalidInput(f"the file's content is not {content_type}")
    if content_type == "text/plain":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the text file is not UTF-8 text") from None


def _sha1(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


def fhir_datetime(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


def patient_reference(patient: str) -> dict:
    return {"reference": f"Patient/{patient}"}


def document(patient: str, title: str, data: bytes, content_type: str, created_at: int | None = None,
             category: Category = Category.DOCUMENTS) -> Record:
    """A DocumentReference record carrying a file (PDF, PNG, JPEG or plain text), filed under
    `category` (Documents unless said otherwise)."""
    title = _required_text(title, "a document needs a title")
    check_file(data, content_type)
    created_at = int(time.time()) if created_at is None else created_at
    resource = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": patient_reference(patient),
        **({} if category == Category.DOCUMENTS else {"category": [{"coding": [{
            "system": CATEGORY_SYSTEM, "code": Category(category).name.lower(), "display": Category(category).label,
        }]}]}),
        "date": fhir_datetime(created_at),
        "description": title,
        "content": [{"attachment": {
            "contentType": content_type,
            "title": title,
            "size": len(data),
            "hash": _sha1(data),
            "creation": fhir_datetime(created_at),
        }}],
    }
    return Record.from_fhir(resource, attachment=data, created_at=created_at)


def condition(patient: str, diagnosis: str, recorded_at: int | None = None) -> Record:
    """A diagnosis: an active, confirmed Condition named in words."""
    diagnosis = _required_text(diagnosis, "a diagnosis needs a name")
    recorded_at = int(time.time()) if recorded_at is None else recorded_at
    resource = {
        "resourceType": "Condition",
        "clinicalStatus": _concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
        "verificationStatus": _concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed",
                                       "Confirmed"),
        "code": {"text": diagnosis},
        "subject": patient_reference(patient),
        "recordedDate": fhir_datetime(recorded_at),
    }
    return Record.from_fhir(resource, created_at=recorded_at)


def prescription(patient: str, medication: str, dosage: str, authored_at: int | None = None) -> Record:
    """A prescription: an active MedicationRequest with the medication and dosage in words."""
    medication = _required_text(medication, "a prescription needs a medication")
    dosage = _required_text(dosage, "a prescription needs a dosage")
    authored_at = int(time.time()) if authored_at is None else authored_at
    resource = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": medication},
        "subject": patient_reference(patient),
        "authoredOn": fhir_datetime(authored_at),
        "dosageInstruction": [{"text": dosage}],
    }
    return Record.from_fhir(resource, created_at=authored_at)


def _required_text(text: str | None, problem: str, limit: int = 200) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput(problem)
    if len(text) > limit:
        raise InvalidInput(f"keep it under {limit} characters")
    return text


def _concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}
