"""FHIR records: valid resources map to their category; invalid FHIR, implausible vitals and bad
files are refused with a message naming the problem."""

import pytest

from app.carechain.errors import InvalidInput
from app.carechain.records import Category, Record, document
from app.carechain.vitals import vital_sign

PATIENT = "0x0C2dA0Af9e5eBaD6d7b6801904E8f45E095D7f9B"


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
    ({"resourceType": "Observation", "status": "done", "code": {"text": "x"}}, "status must be one of"),
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
