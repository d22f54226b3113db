"""One-line summaries of records for lists and pages ("Allergy: Penicillin (high criticality)"),
from the resource alone: titles are shown from decrypted records and never stored. A window
Bundle's title is records.py's, beside the window it reads."""


def title_of(resource: dict) -> str:
    return TITLE_OF.get(resource["resourceType"], _coded_title)(resource)


def _coded_title(resource: dict) -> str:
    """The code's text or display, and a measured value: "Hemoglobin: 13.5 g/dL"."""
    name = name_of(resource.get("code") or resource.get("medicationCodeableConcept"), resource["resourceType"])
    value = _value_text(resource)
    return f"{name}: {value}" if value else name


def name_of(concept: dict | None, default: str) -> str:
    """A CodeableConcept in words: its text, else its first coding's display."""
    concept = concept or {}
    return concept.get("text") or next(
        (coding["display"] for coding in concept.get("coding", []) if coding.get("display")), default)


def _code_in(concept: dict | None) -> str | None:
    return next((coding.get("code") for coding in (concept or {}).get("coding", [])), None)


def _day(moment: str | None) -> str:
    return f", {moment[:10]}" if moment else ""


def _document_title(resource: dict) -> str:
    attachment = resource["content"][0]["attachment"]
    return attachment.get("title") or resource.get("description") or "Document"


def _risk_title(resource: dict) -> str:
    rationale = next((p["rationale"] for p in resource.get("prediction", []) if p.get("rationale")), None)
    return rationale or name_of(resource.get("method") or resource.get("code"), "Risk assessment")


CRITICALITY = {"low": "low criticality", "high": "high criticality", "unable-to-assess": "criticality unknown"}
NOT_CURRENT = ("inactive", "resolved", "refuted", "entered-in-error")  # an allergy's statuses worth a list's note


def _allergy_title(resource: dict) -> str:
    """E.g. "Allergy: Penicillin (high criticality)", or "(…, resolved)"."""
    statuses = (_code_in(resource.get("clinicalStatus")), _code_in(resource.get("verificationStatus")))
    notes = [CRITICALITY.get(resource.get("criticality"))] + [status for status in statuses if status in NOT_CURRENT]
    notes = ", ".join(note for note in notes if note)
    kind = "Intolerance" if resource.get("type") == "intolerance" else "Allergy"
    return f"{kind}: {name_of(resource.get('code'), 'unnamed substance')}" + (f" ({notes})" if notes else "")


def _immunization_title(resource: dict) -> str:
    """E.g. "Immunization: Influenza, 2026-10-02"."""
    kind = "Immunization not given" if resource["status"] == "not-done" else "Immunization"
    return f"{kind}: {name_of(resource['vaccineCode'], 'vaccine')}{_day(resource.get('occurrenceDateTime'))}"


def _procedure_title(resource: dict) -> str:
    kind = "Procedure not done" if resource["status"] == "not-done" else "Procedure"
    performed = resource.get("performedDateTime") or resource.get("performedPeriod", {}).get("start")
    return f"{kind}: {name_of(resource.get('code'), 'unnamed')}{_day(performed)}"


def _encounter_title(resource: dict) -> str:
    """E.g. "Encounter: Cardiology consultation, 2026-10-02", by type, else class."""
    kind = resource["class"].get("display") or resource["class"].get("code") or "visit"
    name = name_of((resource.get("type") or [None])[0], kind)
    return f"Encounter: {name}{_day(resource.get('period', {}).get('start'))}"


def _care_plan_title(resource: dict) -> str:
    name = resource.get("title") or name_of((resource.get("category") or [None])[0], "") or resource.get(
        "description") or "untitled"
    return f"Care plan: {name}"


def _service_request_title(resource: dict) -> str:
    """E.g. "Order: Full blood count (urgent)"."""
    priority = resource.get("priority", "routine")
    return f"Order: {name_of(resource.get('code'), 'unnamed')}" + ("" if priority == "routine" else f" ({priority})")


DISCHARGE_SUMMARY = "18842-5"  # LOINC


def _composition_title(resource: dict) -> str:
    """E.g. "Discharge summary: Admission for pneumonia"."""
    kind = "Discharge summary" if _code_in(resource["type"]) == DISCHARGE_SUMMARY else name_of(resource["type"], "")
    return resource["title"] if kind.lower() in ("", resource["title"].lower()) else f"{kind}: {resource['title']}"


TITLE_OF = {
    "DocumentReference": _document_title,
    "RiskAssessment": _risk_title,
    "AllergyIntolerance": _allergy_title,
    "Immunization": _immunization_title,
    "Procedure": _procedure_title,
    "Encounter": _encounter_title,
    "CarePlan": _care_plan_title,
    "ServiceRequest": _service_request_title,
    "Composition": _composition_title,
}


def _value_text(resource: dict) -> str:
    quantity = resource.get("valueQuantity")
    if quantity:
        return f"{_number(quantity.get('value'))} {quantity.get('unit', '')}".strip()
    parts = [component.get("valueQuantity") for component in resource.get("component", [])]
    if parts and all(parts):
        return "/".join(_number(part.get("value")) for part in parts) + f" {parts[0].get('unit', '')}".rstrip()
    return ""


def _number(value) -> str:
    """128.0 as "128", 36.55 as "36.55"."""
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)
