"""Valid FHIR resources of the types a clinic exchanges daily, for the library's and the web's tests."""

from eth_utils import keccak

from app.carechain import crypto, envelope
from app.carechain.records import Record, condition
from app.carechain.summaries import Summary
from tests.e2e.helpers import pulse

TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Recovered well.</div>'}
PSYCHIATRIC = "Depressive episode in 2019, treated; no current symptoms."


def discharge_summary(patient: str) -> dict:
    """A discharge summary (Composition) with a psychiatric history section: 8 disclosable elements."""
    return {
        "resourceType": "Composition", "status": "final", "subject": {"reference": f"Patient/{patient}"},
        "date": "2026-10-05", "title": "Admission for pneumonia", "author": [{"reference": "Practitioner/dr-chen"}],
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}]},
        "section": [{"title": "Hospital course", "text": NARRATIVE},
                    {"title": "Psychiatric history", "text": {
                        "status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{PSYCHIATRIC}</div>'}}],
    }


def clinic_resources(patient: str) -> dict:
    """One valid resource of each type a clinic exchanges daily, about `patient`."""
    about = {"reference": f"Patient/{patient}"}
    return {
        "AllergyIntolerance": {
            "resourceType": "AllergyIntolerance", "patient": about, "type": "allergy", "category": ["medication"],
            "clinicalStatus": {"coding": [{"system": TERMINOLOGY + "allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": TERMINOLOGY + "allergyintolerance-verification",
                                               "code": "confirmed"}]},
            "criticality": "high", "code": {"text": "Penicillin"},
            "reaction": [{"manifestation": [{"text": "Hives"}], "severity": "moderate"}]},
        "Immunization": {
            "resourceType": "Immunization", "status": "completed", "patient": about,
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "141",
                                        "display": "Influenza"}]},
            "occurrenceDateTime": "2026-10-02T09:30:00Z"},
        "Procedure": {"resourceType": "Procedure", "status": "completed", "subject": about,
                      "code": {"text": "Appendectomy"}, "performedDateTime": "2026-09-14"},
        "Encounter": {
            "resourceType": "Encounter", "status": "finished", "subject": about,
            "class": {"system": TERMINOLOGY + "v3-ActCode", "code": "AMB", "display": "ambulatory"},
            "type": [{"text": "Cardiology consultation"}], "period": {"start": "2026-10-02T10:00:00Z"}},
        "CarePlan": {"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": about,
                     "title": "Asthma management",
                     "activity": [{"detail": {"status": "in-progress", "description": "Inhaler technique"}}]},
        "ServiceRequest": {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "urgent",
            "subject": about, "code": {"text": "Full blood count"},
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "108252007"}]}]},
        "Composition": {
            "resourceType": "Composition", "status": "final", "subject": about, "date": "2026-10-05",
            "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}]},
            "author": [{"reference": "Practitioner/dr-chen"}], "title": "Admission for pneumonia",
            "section": [{"title": "Hospital course", "text": NARRATIVE}]},
    }


def dated_records(patient) -> list[Record]:
    """Four records of `patient` (an account) whose clinical dates are out of the order they are
    listed in: an immunization (2026-10-02T09:30Z), a procedure (2026-09-14), a diagnosis
    (2025-06-15) and a pulse (2025-10-09)."""
    resources = clinic_resources(patient.address)
    return [Record.from_fhir(resources["Immunization"]), Record.from_fhir(resources["Procedure"]),
            condition(patient.address, "Type 2 diabetes", recorded_at=1_750_000_000),
            pulse(patient, 64, at=1_760_000_000)]


def lab_result(patient: str) -> Record:
    """A laboratory Observation (Labs) about `patient`: what the endorsement tests validate."""
    return Record.from_fhir({"resourceType": "Observation", "status": "final",
                             "subject": {"reference": f"Patient/{patient}"}, "code": {"text": "Hemoglobin"},
                             "valueQuantity": {"value": 13.5, "unit": "g/dL"},
                             "category": [{"coding": [{"code": "laboratory"}]}]})


def version_2_record(carechain, author, patient, record: Record) -> bytes:
    """`record` by `author` as stored before redactable records (envelope version 2: no disclosure
    block), for the author and the patient, indexed; its digest."""
    body = envelope.body_of(record.resource_json, record.attachment)
    signature = crypto.sign_record(carechain.domain, author.key, patient.address, author.address,
                                   int(record.category), record.created_at, keccak(body))
    payload, _ = envelope.pack_payload(signature, record.resource_json, record.attachment)
    fields = dict(patient=patient.address, author=author.address, category=int(record.category),
                  created_at=record.created_at)
    digest = carechain.store.put(carechain._encrypt(author.key, b"version 2", fields, payload,
                                                    {patient.address, author.address}, Summary.of(record).to_bytes()))
    carechain.chain.transact(author, "addRecord", patient.address, digest, int(record.category))
    return digest


EHR_PATIENT = "urn:uuid:6f1c1b6e-0000-4000-8000-000000000001"


def exported_bundle(bundle_type: str = "collection", patient_reference: str = EHR_PATIENT) -> dict:
    """A Bundle as another EHR exports it: its own Patient entry (id "ehr-42", fullUrl EHR_PATIENT)
    and five resources naming the patient by `patient_reference`: a pulse (Vitals), a hemoglobin
    (Labs), a diagnosis and an allergy (Conditions), a prescription (Medications)."""
    about = {"reference": patient_reference}
    resources = [
        {"resourceType": "Patient", "id": "ehr-42", "name": [{"family": "Lovelace", "given": ["Ada"]}]},
        {"resourceType": "Observation", "status": "final", "subject": about, "effectiveDateTime": "2026-03-01T08:00:00Z",
         "category": [{"coding": [{"system": TERMINOLOGY + "observation-category", "code": "vital-signs"}]}],
         "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
         "valueQuantity": {"value": 72, "unit": "beats/minute", "system": "http://unitsofmeasure.org",
                           "code": "/min"}},
        {"resourceType": "Observation", "status": "final", "subject": about, "effectiveDateTime": "2026-03-02",
         "category": [{"coding": [{"system": TERMINOLOGY + "observation-category", "code": "laboratory"}]}],
         "code": {"text": "Hemoglobin"}, "valueQuantity": {"value": 13.5, "unit": "g/dL"}},
        {"resourceType": "Condition", "subject": about, "recordedDate": "2025-06-15", "code": {"text": "Asthma"},
         "clinicalStatus": {"coding": [{"system": TERMINOLOGY + "condition-clinical", "code": "active"}]}},
        {"resourceType": "AllergyIntolerance", "patient": about, "recordedDate": "2024-01-10",
         "code": {"text": "Penicillin"}, "criticality": "high"},
        {"resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": about,
         "authoredOn": "2026-03-02", "medicationCodeableConcept": {"text": "Salbutamol inhaler"},
         "dosageInstruction": [{"text": "2 puffs as needed"}]},
    ]
    entries = [{"fullUrl": EHR_PATIENT if index == 0 else f"urn:uuid:6f1c1b6e-0000-4000-8000-{index:012d}",
                "resource": resource} for index, resource in enumerate(resources)]
    if bundle_type in ("transaction", "batch"):
        for entry in entries:
            entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    return {"resourceType": "Bundle", "type": bundle_type, "timestamp": "2026-03-03T12:00:00Z", "entry": entries}
