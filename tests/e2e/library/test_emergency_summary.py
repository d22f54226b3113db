"""The emergency summary: an IPS document built from the patient's records with one click, edited,
sealed for the patient alone, its key split among the active hospitals so that fewer than the
threshold of their shares open nothing."""

import pytest
from fhir.resources.R4B import get_fhir_model_class

from app.carechain import crypto, emergency, envelope
from app.carechain.break_glass import EMERGENCY_CATEGORY
from app.carechain.emergency import EmergencySummary, summary_of
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.records import Category, Record, condition, prescription
from tests.e2e.clinic_resources import clinic_resources
from tests.e2e.helpers import days_from_now

LOINC = "http://loinc.org"


def blood_group(patient: str, text: str = "O negative") -> Record:
    return Record.from_fhir({
        "resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{patient}"},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": "882-1"}]}, "valueCodeableConcept": {"text": text}})


def add_clinical_records(carechain, patient) -> None:
    resources = clinic_resources(patient.address)
    for record in (Record.from_fhir(resources["AllergyIntolerance"]), condition(patient.address, "Type 1 diabetes"),
                   prescription(patient.address, "Insulin glargine", "20 units at night"),
                   blood_group(patient.address), Record.from_fhir(resources["Procedure"])):
        carechain.add_record(patient, patient.address, record)


def saved_summary(carechain, patient) -> EmergencySummary:
    built = carechain.build_emergency_summary(patient)
    edited = summary_of(patient.address, built.allergies, built.medications, built.problems, built.blood_type,
                        ["Pacemaker (MRI conditional)"], "Grace Hopper", "sister", "+44 20 7946 0000")
    carechain.save_emergency_summary(patient, edited)
    return edited


def test_built_from_records_it_is_a_valid_ips_document(carechain, patient):
    add_clinical_records(carechain, patient)

    built = carechain.build_emergency_summary(patient)

    assert built.allergies == ("Penicillin (high criticality)",)
    assert built.medications == ("Insulin glargine, 20 units at night",)
    assert built.problems == ("Type 1 diabetes",)
    assert built.blood_type == "O-"
    bundle = built.bundle()
    get_fhir_model_class("Bundle").model_validate(bundle)
    assert bundle["type"] == "document"
    composition = bundle["entry"][0]["resource"]
    get_fhir_model_class("Composition").model_validate(composition)
    assert composition["type"]["coding"][0]["code"] == "60591-5"  # LOINC: Patient summary Document
    sections = {section["code"]["coding"][0]["code"]: section for section in composition["section"]}
    assert set(sections) == {"48765-2", "10160-0", "11450-4", "30954-2", "46264-8"}
    resources = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    (allergy,) = [resources[ref["reference"]] for ref in sections["48765-2"]["entry"]]
    assert allergy["resourceType"] == "AllergyIntolerance" and allergy["code"]["text"] == built.allergies[0]
    assert "emptyReason" in sections["46264-8"]  # no implants until the patient types them


def test_edited_and_saved_it_reads_back_as_saved(carechain, patient):
    add_clinical_records(carechain, patient)
    edited = saved_summary(carechain, patient)

    own = carechain.own_emergency_summary(patient)
    assert own.implants == ("Pacemaker (MRI conditional)",)
    assert (own.contact_name, own.contact_relationship, own.contact_phone) == ("Grace Hopper", "sister",
                                                                              "+44 20 7946 0000")
    assert own.allergies == edited.allergies and own.blood_type == "O-"
    # Built again, the typed sections are kept; removing a line removes it.
    assert carechain.build_emergency_summary(patient).implants == own.implants
    carechain.save_emergency_summary(patient, summary_of(patient.address, [], own.medications, own.problems))
    assert carechain.own_emergency_summary(patient).allergies == ()


def test_sealed_for_the_patient_alone(carechain, people, patient):
    add_clinical_records(carechain, patient)
    carechain.grant(patient, people.doctor.address, list(Category), False, days_from_now(carechain, 7))
    saved_summary(carechain, patient)
    custody = carechain.emergency_custody(patient.address)

    data = carechain.store.get(custody.summary)
    header = envelope.decode_header(data)
    assert set(header.keys) == {patient.address}
    assert (header.category, header.author) == (EMERGENCY_CATEGORY, patient.address)
    for stored in (data, carechain.store.get(custody.digest)):
        assert b"Penicillin" not in stored and b"Hopper" not in stored
    # A grantee of every category gets no key for it, and without break-glass opens nothing.
    with pytest.raises(AccessDenied):
        carechain._record_key(people.doctor, patient.address, custody.summary, header)
    with pytest.raises(AccessDenied, match="no open emergency window"):
        carechain.open_emergency_summary(people.doctor, patient.address)
    # Only digests on chain.
    assert bytes(carechain.chain.call("emergencySummaryOf", patient.address)) == custody.summary


def test_fewer_shares_than_the_threshold_open_nothing(carechain, people, patient):
    saved_summary(carechain, patient)
    custody = carechain.emergency_custody(patient.address)
    assert custody.threshold == 2
    assert {people.hospital.address, people.other_hospital.address} <= set(custody.custodians)
    assert set(custody.custodians) == set(carechain.custodian_hospitals())

    content = carechain._custody_object(custody.digest, patient.address, custody.summary)
    shares = [crypto.unwrap_key(content["shares"][h.address], h.address, h.key).decode()
              for h in (people.hospital, people.other_hospital)]
    with pytest.raises(AccessDenied, match="1 of the 2 key shares"):
        emergency.combine_shares(shares[:1], custody.threshold)
    with pytest.raises(AccessDenied):
        emergency.combine_shares([shares[0], shares[0]], custody.threshold)  # the same share twice counts once
    key = emergency.combine_shares(shares, custody.threshold)
    header, ciphertext = envelope.decode(carechain.store.get(custody.summary))
    assert carechain._opened_summary(patient.address, header, ciphertext, key).contact_name == "Grace Hopper"
    # A hospital's key opens only its own share.
    with pytest.raises(Exception):
        crypto.unwrap_key(content["shares"][people.hospital.address], people.other_hospital.address,
                          people.other_hospital.key)


def test_every_save_seals_under_a_new_key_and_unpins_the_old(carechain, patient):
    saved_summary(carechain, patient)
    first = carechain.emergency_custody(patient.address)
    first_key = carechain._patient_key(patient, envelope.decode_header(carechain.store.get(first.summary)))
    carechain.chain.w3.provider.make_request("evm_mine", [carechain.now() + 2])
    carechain.save_emergency_summary(patient, carechain.own_emergency_summary(patient))
    second = carechain.emergency_custody(patient.address)

    assert second.summary != first.summary and second.digest != first.digest
    header, ciphertext = envelope.decode(carechain.store.get(second.summary))
    with pytest.raises(IntegrityError):  # whoever held the old key (a doctor after break-glass) opens nothing new
        carechain._opened_summary(patient.address, header, ciphertext, first_key)
    assert not carechain.store.is_pinned(first.summary) and not carechain.store.is_pinned(first.digest)


@pytest.mark.parametrize("change, problem", [
    (dict(blood_type="Z+"), "blood type must be one of"),
    (dict(contact_name="Grace Hopper"), "needs a name and a phone number"),
    (dict(contact_name="Grace", contact_phone="call me"), "phone number may hold only"),
    (dict(allergies=["Peni\u202ecillin"]), "control or invisible character"),
    (dict(problems=["x" * 201]), "longer than 200 characters"),
    (dict(implants=[f"implant {n}" for n in range(51)]), "at most 50 lines"),
])
def test_bad_input_is_refused_in_words_and_changes_nothing(carechain, patient, change, problem):
    with pytest.raises(InvalidInput, match=problem):
        summary_of(patient.address, **change)
    assert carechain.own_emergency_summary(patient) is None


def test_a_summary_is_the_patients_own(carechain, people, patient, new_patient):
    other = new_patient()
    with pytest.raises(InvalidInput, match="only its own"):
        carechain.save_emergency_summary(patient, summary_of(other.address, ["Latex"]))
    with pytest.raises(InvalidInput, match="not a registered patient"):
        carechain.save_emergency_summary(people.doctor, summary_of(people.doctor.address, ["Latex"]))
