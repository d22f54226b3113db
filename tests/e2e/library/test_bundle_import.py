"""Importing a FHIR Bundle exported by another EHR: each entry stored as a record in its category,
the EHR's Patient references mapped to the patient, everything else skipped with the reason, a
Bundle that cannot be imported refused as a whole."""

import base64
import json

import pytest

from app.carechain.bundle_import import MAX_ENTRIES
from app.carechain.errors import AccessDenied, InvalidInput
from app.carechain.records import Category
from tests.e2e.clinic_resources import EHR_PATIENT, NARRATIVE, exported_bundle
from tests.e2e.helpers import days_from_now

EXPECTED = [(1, "Observation", "Vitals"), (2, "Observation", "Labs"), (3, "Condition", "Conditions"),
            (4, "AllergyIntolerance", "Conditions"), (5, "MedicationRequest", "Medications")]


def encoded(bundle: dict) -> bytes:
    return json.dumps(bundle).encode()


def imported(report) -> list[tuple]:
    return [(item.index, item.resource_type, item.category) for item in report.imported]


def skipped(report) -> list[tuple]:
    return [(item.index, item.resource_type, item.reason) for item in report.skipped]


def test_a_collection_is_stored_entry_by_entry_in_its_categories(carechain, patient):
    report = carechain.import_bundle(patient, patient.address, encoded(exported_bundle()))

    assert imported(report) == EXPECTED
    assert skipped(report) == [
        (0, "Patient", "a Patient entry is not stored: the patient's profile is the patient's own")]
    stored = {entry.origin: entry for entry in carechain.all_records(patient.address)}
    assert [stored[item.number].category.label for item in report.imported] == [c for _, _, c in EXPECTED]
    heart_rate = carechain.read_record(patient, patient.address, stored[report.imported[0].number].digest)
    assert heart_rate.record.resource["subject"] == {"reference": f"Patient/{patient.address}"}
    assert heart_rate.record.title == report.imported[0].title == "Heart rate: 72 beats/minute"
    assert heart_rate.record.created_at == 1_772_352_000  # its effectiveDateTime, 2026-03-01T08:00Z


def test_a_transaction_maps_references_to_the_patient_entrys_id(carechain, patient):
    report = carechain.import_bundle(patient, patient.address,
                                     encoded(exported_bundle("transaction", patient_reference="Patient/ehr-42")))

    assert imported(report) == EXPECTED
    assert [index for index, _, _ in skipped(report)] == [0]


def test_a_document_stores_its_composition_and_the_entries_it_references(carechain, patient):
    bundle = exported_bundle("document")
    composition = {
        "resourceType": "Composition", "status": "final", "subject": {"reference": EHR_PATIENT}, "date": "2026-03-03",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}]},
        "author": [{"reference": "Practitioner/dr-chen"}], "title": "Admission for asthma",
        "section": [{"title": "Findings", "text": NARRATIVE,
                     "entry": [{"reference": entry["fullUrl"]} for entry in bundle["entry"][1:]]}]}
    bundle["entry"].insert(0, {"fullUrl": "urn:uuid:6f1c1b6e-0000-4000-8000-00000000c0de", "resource": composition})

    report = carechain.import_bundle(patient, patient.address, encoded(bundle))

    assert imported(report)[0] == (0, "Composition", "Documents")
    assert report.imported[0].title == "Discharge summary: Admission for asthma"
    assert imported(report)[1:] == [(index + 1, kind, category) for index, kind, category in EXPECTED]


def test_a_documents_inline_file_is_stored_beside_it(carechain, patient):
    pdf = b"%PDF-1.4\n% a discharge letter\n"
    bundle = exported_bundle()
    bundle["entry"].append({"resource": {
        "resourceType": "DocumentReference", "status": "current", "subject": {"reference": EHR_PATIENT},
        "date": "2026-03-03T09:00:00Z", "description": "Discharge letter",
        "content": [{"attachment": {"contentType": "application/pdf", "title": "Discharge letter",
                                    "data": base64.b64encode(pdf).decode()}}]}})

    report = carechain.import_bundle(patient, patient.address, encoded(bundle))

    assert imported(report)[-1] == (6, "DocumentReference", "Documents")
    (entry,) = [entry for entry in carechain.all_records(patient.address) if entry.origin == report.imported[-1].number]
    opened = carechain.read_record(patient, patient.address, entry.digest)
    assert opened.record.attachment == pdf and "data" not in opened.record.resource["content"][0]["attachment"]


def test_invalid_and_foreign_entries_are_skipped_with_reasons_and_block_nothing(carechain, patient):
    bundle = exported_bundle()
    bundle["entry"] += [
        {"resource": {"resourceType": "Observation", "status": "done", "subject": {"reference": EHR_PATIENT},
                      "code": {"text": "Weight"}}},
        {"resource": {"resourceType": "Practitioner", "id": "dr-chen"}},
        {"fullUrl": "urn:uuid:no-resource"},
        {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/someone-else"},
                      "code": {"text": "Gout"}, "recordedDate": "2025-01-01"}},
        bundle["entry"][3],
    ]

    report = carechain.import_bundle(patient, patient.address, encoded(bundle))

    assert imported(report) == EXPECTED
    reasons = dict((index, reason) for index, _, reason in skipped(report))
    assert sorted(reasons) == [0, 6, 7, 8, 9, 10]
    assert "status 'done' is not one of" in reasons[6]
    assert "'Practitioner' is not supported" in reasons[7]
    assert reasons[8] == "the entry holds no resource"
    assert "another patient" in reasons[9]
    assert reasons[10] == "the same as entry 4"


def test_a_doctor_imports_only_into_the_categories_it_may_write(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 30))

    report = carechain.import_bundle(people.doctor, patient.address, encoded(exported_bundle()))

    assert imported(report) == [(1, "Observation", "Vitals")]
    refusals = {index: reason for index, _, reason in skipped(report) if index}
    assert refusals == {2: "no write access to Labs for this patient",
                        3: "no write access to Conditions for this patient",
                        4: "no write access to Conditions for this patient",
                        5: "no write access to Medications for this patient"}
    (entry,) = carechain.all_records(patient.address)
    assert (entry.author, entry.category) == (people.doctor.address, Category.VITALS)


def test_a_doctor_without_write_access_is_refused(carechain, people, patient):
    with pytest.raises(AccessDenied):
        carechain.import_bundle(people.colleague, patient.address, encoded(exported_bundle()))
    assert carechain.all_records(patient.address) == []


def test_importing_the_same_bundle_twice_stores_nothing_new(carechain, patient):
    first = carechain.import_bundle(patient, patient.address, encoded(exported_bundle()))
    count = len(carechain.all_records(patient.address))

    again = carechain.import_bundle(patient, patient.address, encoded(exported_bundle()))

    assert again.imported == []
    assert [reason for _, _, reason in skipped(again)][1:] == [
        f"already stored, as record #{item.number}" for item in first.imported]
    assert len(carechain.all_records(patient.address)) == count == 5


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "not valid JSON"),
    (encoded(exported_bundle()["entry"][1]["resource"]), "not a FHIR Bundle"),
    (encoded({**exported_bundle(), "type": "history"}), "type 'history' cannot be imported"),
    (encoded({**exported_bundle(), "timestamp": "yesterday"}), "invalid FHIR Bundle"),
    (encoded({**exported_bundle(), "entry": []}), "no entries"),
    (encoded({**exported_bundle(), "entry": exported_bundle()["entry"][1:2] * (MAX_ENTRIES + 1)}),
     f"at most {MAX_ENTRIES}"),
    (b"[" * 100 + b"]" * 100, "nested more than"),
])
def test_a_file_that_cannot_be_imported_is_refused_as_a_whole(carechain, patient, content, problem):
    with pytest.raises(InvalidInput, match=problem):
        carechain.import_bundle(patient, patient.address, content)
    assert carechain.all_records(patient.address) == []
