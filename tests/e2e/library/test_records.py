"""FHIR records: valid resources map to their category; invalid FHIR, implausible vitals and bad
files are refused with a message naming the problem; the resources a clinic exchanges daily are
stored and read back by a doctor."""

import copy
import json

import pytest

from app.carechain.errors import InvalidInput
from app.carechain.fhir_rules import check_patient
from app.carechain.records import Category, Record, document
from app.carechain.vitals import vital_sign
from tests.e2e.clinic_resources import TERMINOLOGY, clinic_resources
from tests.e2e.helpers import days_from_now

PATIENT = "0x0C2dA0Af9e5eBaD6d7b6801904E8f45E095D7f9B"

CLINIC_RECORDS = [  # type, category, title
    ("AllergyIntolerance", Category.CONDITIONS, "Allergy: Penicillin (high criticality)"),
    ("Immunization", Category.MEDICATIONS, "Immunization: Influenza, 2026-10-02"),
    ("Procedure", Category.CONDITIONS, "Procedure: Appendectomy, 2026-09-14"),
    ("Encounter", Category.DOCUMENTS, "Encounter: Cardiology consultation, 2026-10-02"),
    ("CarePlan", Category.CONDITIONS, "Care plan: Asthma management"),
    ("ServiceRequest", Category.LABS, "Order: Full blood count (urgent)"),
    ("Composition", Category.DOCUMENTS, "Discharge summary: Admission for pneumonia"),
]


@pytest.mark.parametrize("kind, value, title", [
    ("pulse", 72, "Heart rate: 72 beats/minute"),
    ("spo2", 97, "Oxygen saturation: 97 %"),
    ("temperature", 37.2, "Body temperature: 37.2 °C"),
    ("glucose", 105, "Glucose: 105 mg/dL"),
    ("blood_pressure", (120, 80), "Blood pressure panel: 120/80 mmHg"),
])
def test_vital_signs_are_valid_observations(kind, value, title):
    record = vital_sign(PATIENT, kind, value, measured_at=1_700_000_000)
    assert (record.resource_type, record.category, record.title) == ("Observation", Category.VITALS, title)
    assert record.resource["effectiveDateTime"].startswith("2023-11-14")


@pytest.mark.parametrize("kind, value, message", [
    ("pulse", 900, "outside the plausible range"),
    ("spo2", "high", "must be a number"),
    ("blood_pressure", (80, 120), "higher than the diastolic"),
    ("weight", 70, "unknown vital sign"),
])
def test_implausible_vitals_are_refused(kind, value, message):
    with pytest.raises(InvalidInput, match=message):
        vital_sign(PATIENT, kind, value)


@pytest.mark.parametrize("resource, category", [
    ({"resourceType": "Condition", "subject": {"reference": "Patient/x"}, "code": {"text": "Asthma"}},
     Category.CONDITIONS),
    ({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
      "subject": {"reference": "Patient/x"}, "medicationCodeableConcept": {"text": "Salbutamol"}},
     Category.MEDICATIONS),
    ({"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Lipid panel"}}, Category.LABS),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "Hb"},
      "category": [{"coding": [{"code": "laboratory"}]}]}, Category.LABS),
])
def test_supported_resources_map_to_their_category(resource, category):
    assert Record.from_fhir(resource).category == category


@pytest.mark.parametrize("data, message", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "must be a JSON object"),
    ({"resourceType": "Patient", "name": [{"text": "Jane"}]}, "'Patient' is not supported"),
    ({"resourceType": "Observation", "code": {"text": "x"}}, "status: Value for the field 'status' is required"),
    ({"resourceType": "Observation", "status": "done", "code": {"text": "x"}},
     "status 'done' is not one of registered, preliminary, final"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "a"}},
     "valueQuantity.value"),
    ({"resourceType": "Condition", "subject": {"reference": "Patient/x"}, "colour": "red"}, "colour: Extra inputs"),
])
def test_invalid_fhir_is_refused_with_the_problem_named(data, message):
    with pytest.raises(InvalidInput, match=message):
        Record.from_fhir(data)


def test_documents_check_type_size_and_content():
    record = document(PATIENT, "X-ray", b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png")
    assert (record.category, record.content_type, record.title) == (Category.DOCUMENTS, "image/png", "X-ray")
    for data, content_type, message in [
        (b"", "application/pdf", "empty"),
        (b"MZ\x90\x00", "application/x-msdownload", "not accepted"),
        (b"GIF89a", "image/png", "not image/png"),
        (b"%PDF-" + bytes(21 << 20), "application/pdf", "20 MB limit"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            document(PATIENT, "file", data, content_type)
    with pytest.raises(InvalidInput, match="needs a title"):
        document(PATIENT, " ", b"hello", "text/plain")


def test_attachment_must_match_its_document_reference():
    record = document(PATIENT, "Note", b"hello", "text/plain")
    with pytest.raises(InvalidInput, match="does not match"):
        Record.from_fhir(record.resource, attachment=b"hellO")
    with pytest.raises(InvalidInput, match="only a DocumentReference"):
        Record.from_fhir(vital_sign(PATIENT, "pulse", 60).resource, attachment=b"x")


@pytest.mark.parametrize("kind, category, title", CLINIC_RECORDS)
def test_a_clinics_daily_resources_are_filed_and_titled(kind, category, title):
    record = Record.from_fhir(json.dumps(clinic_resources(PATIENT)[kind]))
    assert (record.category, record.title) == (category, title)


def changed(kind: str, path: str, value):
    """The clinic's resource of `kind` with the element at the dotted `path` (list indexes as
    numbers) set to `value`."""
    resource = copy.deepcopy(clinic_resources(PATIENT)[kind])
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    node = resource
    for part in parents:
        node = node[part]
    node[last] = value
    return resource


@pytest.mark.parametrize("kind, path, value, message", [
    ("AllergyIntolerance", "clinicalStatus.coding.0.code", "activ",
     "clinicalStatus.coding[0].code 'activ' is not one of active, inactive, resolved"),
    ("AllergyIntolerance", "verificationStatus.coding.0.code", "sure",
     "verificationStatus.coding[0].code 'sure' is not one of unconfirmed, confirmed, refuted, entered-in-error"),
    ("AllergyIntolerance", "clinicalStatus", {"coding": [{"code": "active"}]},
     "clinicalStatus.coding[0].system is missing: use " + TERMINOLOGY + "allergyintolerance-clinical"),
    ("AllergyIntolerance", "clinicalStatus", {"text": "active"},
     "clinicalStatus needs a coding of " + TERMINOLOGY + "allergyintolerance-clinical: one of active"),
    ("AllergyIntolerance", "criticality", "severe", "criticality 'severe' is not one of low, high, unable-to-assess"),
    ("AllergyIntolerance", "category.0", "drug", "category[0] 'drug' is not one of food, medication"),
    ("AllergyIntolerance", "reaction.0.severity", "bad", "reaction[0].severity 'bad' is not one of mild, moderate"),
    ("Immunization", "status", "given", "status 'given' is not one of completed, entered-in-error, not-done"),
    ("Procedure", "status", "done", "status 'done' is not one of preparation, in-progress, not-done"),
    ("Encounter", "status", "closed", "status 'closed' is not one of planned, arrived, triaged"),
    ("CarePlan", "status", "open", "status 'open' is not one of draft, active, on-hold, revoked"),
    ("CarePlan", "intent", "directive", "intent 'directive' is not one of proposal, plan, order, option"),
    ("CarePlan", "activity.0.detail.status", "going", "activity[0].detail.status 'going' is not one of not-started"),
    ("ServiceRequest", "status", "open", "status 'open' is not one of draft, active"),
    ("ServiceRequest", "intent", "request", "intent 'request' is not one of proposal, plan, directive, order"),
    ("ServiceRequest", "priority", "soon", "priority 'soon' is not one of routine, urgent, asap, stat"),
    ("Composition", "status", "draft", "status 'draft' is not one of preliminary, final, amended"),
])
def test_codes_outside_a_required_binding_are_refused_naming_the_element(kind, path, value, message):
    with pytest.raises(InvalidInput) as refused:
        Record.from_fhir(json.dumps(changed(kind, path, value)))
    assert str(refused.value).startswith(f"invalid FHIR {kind}: {message}")


def test_a_conditions_status_codes_are_checked_too():
    condition = {"resourceType": "Condition", "subject": {"reference": f"Patient/{PATIENT}"}, "code": {"text": "Flu"},
                 "clinicalStatus": {"coding": [{"system": TERMINOLOGY + "condition-clinical", "code": "cured"}]}}
    with pytest.raises(InvalidInput) as refused:
        Record.from_fhir(condition)
    assert "clinicalStatus.coding[0].code 'cured' is not one of active, recurrence, relapse" in str(refused.value)


@pytest.mark.parametrize("kind, path, value, message", [
    ("AllergyIntolerance", "clinicalStatus", "active", 'clinicalStatus: expected a CodeableConcept (a JSON object), '
                                                       'not "active"'),
    ("Encounter", "class", "AMB", 'class: expected a Coding (a JSON object), not "AMB"'),
    ("Procedure", "subject", "Patient/x", 'subject: expected a Reference (a JSON object), not "Patient/x"'),
    ("CarePlan", "activity.0", "call", 'activity[0]: expected a CarePlanActivity (a JSON object), not "call"'),
])
def test_a_value_where_an_object_belongs_names_the_type_expected(kind, path, value, message):
    """pydantic's own words for these were "Invalid JSON: expected value at line 1 column 1"."""
    with pytest.raises(InvalidInput) as refused:
        Record.from_fhir(json.dumps(changed(kind, path, value)))
    assert str(refused.value) == f"invalid FHIR {kind}: {message}"


def test_requests_for_treatment_and_documents_naming_a_category_are_filed_accordingly():
    surgery = changed("ServiceRequest", "category", [{"coding": [{"system": "http://snomed.info/sct",
                                                                  "code": "387713003"}]}])
    assert Record.from_fhir(surgery).category == Category.CONDITIONS
    lab_letter = changed("Composition", "category", [{"coding": [{"system": "urn:carechain:record-category",
                                                                  "code": "labs"}]}])
    assert Record.from_fhir(lab_letter).category == Category.LABS


@pytest.mark.parametrize("kind", [kind for kind, _, _ in CLINIC_RECORDS])
def test_a_resource_must_be_about_the_patient_it_is_stored_for(kind):
    resource = Record.from_fhir(clinic_resources(PATIENT)[kind]).resource
    check_patient(resource, PATIENT)
    element = "patient" if kind in ("AllergyIntolerance", "Immunization") else "subject"
    with pytest.raises(InvalidInput, match=f"the resource's {element} must be Patient/0xOther, this patient"):
        check_patient(resource, "0xOther")


def test_a_clinics_daily_resources_are_stored_and_read_back_by_a_doctor(carechain, people, patient):
    resources = clinic_resources(patient.address)
    entries = {kind: carechain.add_record(patient, patient.address, Record.from_fhir(resources[kind]))
               for kind, _, _ in CLINIC_RECORDS}
    carechain.grant(patient, people.doctor.address, list(Category), False, days_from_now(carechain, 3))
    for kind, category, title in CLINIC_RECORDS:
        assert entries[kind].category == category
        opened = carechain.read_record(people.doctor, patient.address, entries[kind].digest)
        assert opened.record.resource == Record.from_fhir(resources[kind]).resource
        assert (opened.record.title, opened.author) == (title, patient.address)
