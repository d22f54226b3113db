"""The FHIR rules `fhir.resources` leaves unchecked, and its errors in words.

The models check structure and cardinality but not the codes of required bindings (a status of
"done", an allergy's clinicalStatus "activ"), which FHIR makes part of validity; `check_codes`
enforces them per resource type from the R4 value sets. `problems_of` names each failing element
the way FHIRPath does (`note[0].text`) and turns pydantic's "Invalid JSON: expected value at
line 1" (a string where an object belongs) into the FHIR type expected there.
"""

import json
import typing
from dataclasses import dataclass

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from app.carechain.errors import InvalidInput


@dataclass(frozen=True)
class Binding:
    """A required binding: the element's path (lists are walked into) and the allowed codes. With
    a `system`, the element is a CodeableConcept that needs a coding of that system, and the
    codings of that system must use one of the codes (codings of other systems are translations)."""

    path: str
    codes: tuple[str, ...]
    system: str | None = None


TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
OBSERVATION_STATUS = ("registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
                      "unknown")
EVENT_STATUS = ("preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error",
                "unknown")
REQUEST_STATUS = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
REQUEST_INTENT = ("proposal", "plan", "directive", "order", "original-order", "reflex-order", "filler-order",
                  "instance-order", "option")
REQUEST_PRIORITY = ("routine", "urgent", "asap", "stat")
COMPOSITION_STATUS = ("preliminary", "final", "amended", "entered-in-error")
ENCOUNTER_STATUS = ("planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                    "entered-in-error", "unknown")

REQUIRED_CODES = {
    "Observation": (Binding("status", OBSERVATION_STATUS),),
    "RiskAssessment": (Binding("status", OBSERVATION_STATUS),),
    "DiagnosticReport": (Binding("status", ("registered", "partial", "preliminary", "final", "amended", "corrected",
                                            "appended", "cancelled", "entered-in-error", "unknown")),),
    "MedicationRequest": (
        Binding("status", ("active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
                           "unknown")),
        Binding("intent", tuple(intent for intent in REQUEST_INTENT if intent != "directive")),
        Binding("priority", REQUEST_PRIORITY),
    ),
    "DocumentReference": (Binding("status", ("current", "superseded", "entered-in-error")),
                          Binding("docStatus", COMPOSITION_STATUS)),
    "Condition": (
        Binding("clinicalStatus", ("active", "recurrence", "relapse", "inactive", "remission", "resolved"),
                TERMINOLOGY + "condition-clinical"),
        Binding("verificationStatus", ("unconfirmed", "provisional", "differential", "confirmed", "refuted",
                                       "entered-in-error"), TERMINOLOGY + "condition-ver-status"),
    ),
    "AllergyIntolerance": (
        Binding("clinicalStatus", ("active", "inactive", "resolved"), TERMINOLOGY + "allergyintolerance-clinical"),
        Binding("verificationStatus", ("unconfirmed", "confirmed", "refuted", "entered-in-error"),
                TERMINOLOGY + "allergyintolerance-verification"),
        Binding("type", ("allergy", "intolerance")),
        Binding("category", ("food", "medication", "environment", "biologic")),
        Binding("criticality", ("low", "high", "unable-to-assess")),
        Binding("reaction.severity", ("mild", "moderate", "severe")),
    ),
    "Immunization": (Binding("status", ("completed", "entered-in-error", "not-done")),),
    "Procedure": (Binding("status", EVENT_STATUS),),
    "Encounter": (Binding("status", ENCOUNTER_STATUS), Binding("statusHistory.status", ENCOUNTER_STATUS)),
    "CarePlan": (
        Binding("status", REQUEST_STATUS),
        Binding("intent", ("proposal", "plan", "order", "option")),
        Binding("activity.detail.status", ("not-started", "scheduled", "in-progress", "on-hold", "completed",
                                           "cancelled", "stopped", "unknown", "entered-in-error")),
    ),
    "ServiceRequest": (Binding("status", REQUEST_STATUS), Binding("intent", REQUEST_INTENT),
                       Binding("priority", REQUEST_PRIORITY)),
    "Composition": (
        Binding("status", COMPOSITION_STATUS),
        Binding("confidentiality", ("U", "L", "M", "N", "R", "V")),
        Binding("attester.mode", ("personal", "professional", "legal", "official")),
        Binding("section.mode", ("working", "snapshot", "changes")),
    ),
}

# The element naming the patient a resource is about, where it is not `subject`.
PATIENT_ELEMENT = {"AllergyIntolerance": "patient", "Immunization": "patient"}


def allowed_codes(kind: str, path: str) -> tuple[str, ...]:
    return next(binding.codes for binding in REQUIRED_CODES[kind] if binding.path == path)


def check_codes(kind: str, resource: dict) -> None:
    """Refuses codes outside their required binding, naming each element and what is allowed."""
    problems = [problem for binding in REQUIRED_CODES.get(kind, ())
                for location, value in _occurrences(resource, binding.path)
                for problem in _code_problems(binding, location, value)]
    if problems:
        raise InvalidInput(f"invalid FHIR {kind}: {'; '.join(problems)}")


def check_patient(resource: dict, patient: str) -> None:
    """Refuses a resource about someone else (or no one): its subject, or patient for allergies and
    immunizations, must be Patient/<the patient's address>."""
    element = PATIENT_ELEMENT.get(resource["resourceType"], "subject")
    if (resource.get(element) or {}).get("reference") != f"Patient/{patient}":
        raise InvalidInput(f"the resource's {element} must be Patient/{patient}, this patient")


def _occurrences(node, path: str, location: str = ""):
    """(location, value) of each value at a dotted path, lists walked into: reaction[1].severity."""
    name, _, rest = path.partition(".")
    value = node.get(name) if isinstance(node, dict) else None
    location = f"{location}.{name}" if location else name
    items = enumerate(value) if isinstance(value, list) else [(None, value)]
    for index, item in items:
        here = location if index is None else f"{location}[{index}]"
        if item is not None:
            yield from _occurrences(item, rest, here) if rest else [(here, item)]


def _code_problems(binding: Binding, location: str, value) -> list[str]:
    allowed = ", ".join(binding.codes)
    if binding.system is None:
        return [] if value in binding.codes else [f"{location} {value!r} is not one of {allowed}"]
    problems, codings = [], value.get("coding", [])
    for index, coding in enumerate(codings):
        if "system" not in coding:
            problems.append(f"{location}.coding[{index}].system is missing: use {binding.system} (codes {allowed})")
        elif coding["system"] == binding.system and coding.get("code") not in binding.codes:
            problems.append(f"{location}.coding[{index}].code {coding.get('code')!r} is not one of {allowed}")
    if not any(coding.get("system") == binding.system for coding in codings) and not problems:
        problems.append(f"{location} needs a coding of {binding.system}: one of {allowed}")
    return problems


def problems_of(kind: str, error: ValidationError) -> str:
    """The model's complaints, each after the element it is about."""
    problems = []
    for problem in error.errors():
        path = [part for part in problem["loc"] if part != "root"]  # "root": a model's own validator
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
        message = problem["msg"]
        if problem["type"] in ("json_invalid", "model_validation_format"):  # a scalar where an object belongs
            expected = _element_type(kind, path)
            given = json.dumps(problem["input"], default=str)
            message = (f"expected {'an' if expected[0] in 'AEIOUaeiou' else 'a'} {expected} (a JSON object), "
                       f"not {given if len(given) <= 40 else given[:37] + '...'}")
        problems.append(f"{location or kind}: {message}")
    return "; ".join(problems)


def _element_type(kind: str, path: list) -> str:
    """The FHIR type of the element at `path` of a `kind` resource, from the models' annotations."""
    model, name = get_fhir_model_class(kind), "element"
    for part in path:
        if isinstance(part, int):
            continue
        field = next((field for key, field in model.model_fields.items() if (field.alias or key) == part), None)
        types = [getattr(type_, "__name__", "") for type_ in _types_in(field.annotation)] if field else []
        name = next((type_name.removesuffix("Type") for type_name in types if type_name.endswith("Type")), "element")
        try:
            model = get_fhir_model_class(name)
        except ValueError:
            break
    return name


def _types_in(annotation):
    """The classes named by a (possibly nested) type annotation: Optional[List[X]] -> X, None."""
    arguments = typing.get_args(annotation)
    if not arguments:
        yield annotation
    for argument in arguments:
        yield from _types_in(argument)
