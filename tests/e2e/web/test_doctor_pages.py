"""A doctor's pages: patients who granted access, records in scope, reading (logged), writing;
access ends on the page when a grant expires or is revoked. The write page offers only what the
grant lets the doctor add, and keeps what was typed when a record is refused."""

import html
import io
import json
import re

import pytest
from eth_account import Account

from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, enrol, provider_entry
from app.carechain.records import Category
from tests.e2e.clinic_resources import clinic_resources
from tests.e2e.helpers import days_from_now, pulse, text, travel_to


@pytest.fixture
def shared(carechain, patient, people):
    """A patient with a vitals record, who granted Dr. Chen read access to vitals for 3 days."""
    entry = carechain.add_record(patient, patient.address, pulse(patient, 77))
    carechain.grant(patient, people.doctor.address, [0], False, days_from_now(carechain, 3))
    return patient, entry


def test_the_doctor_sees_the_patient_and_reads_the_record_which_is_logged(as_user, people, shared, carechain):
    patient, entry = shared
    doctor = as_user(people.doctor)
    patients = text(doctor.get("/doctor/"))
    assert patient.address in patients and "left" in patients and "Vitals" in patients
    listing = text(doctor.get(f"/doctor/patients/{patient.address}"))
    assert "Heart rate: 77 beats/minute" in listing and "Write a record" not in listing
    page = text(doctor.get(f"/doctor/patients/{patient.address}/records/{entry.digest.hex()}"))
    assert "Heart rate: 77 beats/minute" in page and "signature checked" in page and "logged on chain" in page
    assert [event.kind for event in carechain.audit_trail(patient.address)][-1] == "read"


def test_a_doctor_without_a_grant_is_refused_with_the_reason(as_user, people, shared):
    patient, entry = shared
    outsider = as_user(people.outsider)
    listing = outsider.get(f"/doctor/patients/{patient.address}")
    assert listing.status_code == 403 and "has not granted you access" in text(listing)
    record = outsider.get(f"/doctor/patients/{patient.address}/records/{entry.digest.hex()}")
    assert record.status_code == 403
    assert outsider.get(f"/doctor/patients/{patient.address}/records/{entry.digest.hex()}/file").status_code == 403


def test_access_ends_on_the_page_when_the_grant_expires(as_user, people, shared, carechain):
    patient, entry = shared
    doctor = as_user(people.doctor)
    assert doctor.get(f"/doctor/patients/{patient.address}").status_code == 200
    travel_to(carechain, days_from_now(carechain, 4))
    response = doctor.get(f"/doctor/patients/{patient.address}/records/{entry.digest.hex()}")
    assert response.status_code == 403 and "expired on" in text(response)
    assert "expired" in text(doctor.get("/doctor/"))


def test_access_ends_when_the_patient_revokes(as_user, people, shared, carechain):
    patient, entry = shared
    carechain.revoke(patient, people.doctor.address)
    response = as_user(people.doctor).get(f"/doctor/patients/{patient.address}/records/{entry.digest.hex()}")
    assert response.status_code == 403 and "revoked" in text(response)


def test_a_doctor_with_write_access_writes_a_signed_record(as_user, people, patient, carechain):
    carechain.grant(patient, people.doctor.address, [2, 3], True, days_from_now(carechain, 3))
    doctor = as_user(people.doctor)
    assert "Write a record" in text(doctor.get(f"/doctor/patients/{patient.address}"))
    response = doctor.post(f"/doctor/patients/{patient.address}/records/new/prescription",
                           {"medication": "Amoxicillin 500 mg", "dosage": "3 times a day for 7 days"},
                           prefix="prescription", follow_redirects=True)
    assert "(Medications: Amoxicillin 500 mg) stored" in text(response)
    opened = carechain.read_record(patient, patient.address, carechain.records(patient.address)[0].digest)
    assert opened.author == people.doctor.address and opened.author_role == "doctor"
    assert "Dr. Alice Chen" in text(as_user(patient).get("/patient/"))


def test_writing_outside_the_grant_is_refused(as_user, people, shared, carechain):
    patient, _ = shared  # read-only vitals grant
    doctor = as_user(people.doctor)
    vitals = doctor.post(f"/doctor/patients/{patient.address}/records/new/vitals", {"kind": "pulse", "value": "60"},
                         prefix="vitals")
    assert vitals.status_code == 403 and "not add them" in text(vitals)
    diagnosis = doctor.post(f"/doctor/patients/{patient.address}/records/new/diagnosis", {"diagnosis": "Flu"},
                            prefix="diagnosis")
    assert diagnosis.status_code == 403 and "does not cover conditions" in text(diagnosis)
    assert carechain.participant(patient.address).record_count == 1


def test_a_hospital_grant_covers_its_doctors(as_user, people, patient, carechain):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.hospital.address, [0], False, days_from_now(carechain, 3))
    colleague = as_user(people.colleague)
    assert "St. Mary&#39;s Hospital" in text(colleague.get("/doctor/"))
    assert colleague.get(f"/doctor/patients/{patient.address}/records/{entry.digest.hex()}").status_code == 200


def test_roles_keep_to_their_own_pages(as_user, people, patient):
    doctor, me = as_user(people.doctor), as_user(patient)
    for user, url in ((doctor, "/patient/"), (doctor, "/admin/"), (me, "/doctor/"), (me, "/admin/")):
        response = user.get(url)
        assert response.status_code == 302 and response.location == "/auth/", url
    assert doctor.get("/doctor/patients/not-an-address").status_code == 404


def test_pages_need_a_login(visitor):
    for url in ("/patient/", "/patient/grants", "/patient/audit", "/doctor/", "/admin/", "/auth/welcome"):
        assert "/auth/login" in visitor.get(url).location, url


def write_page(doctor, patient):
    return doctor.get(f"/doctor/patients/{patient.address}/records/new")


def offered(page: str) -> tuple[list[str], list[str]]:
    """The kinds of record a write page offers, and its document form's categories."""
    kinds = re.findall(r'<details class="card"[^>]*id="(\w+)"', page)
    select = re.search(r'<select[^>]*name="document-category".*?</select>', page, re.S)
    return kinds, re.findall(r">(\w+)</option>", select.group(0)) if select else []


def test_the_write_page_offers_only_what_the_grant_lets_the_doctor_add(as_user, people, patient, carechain):
    carechain.grant(patient, people.doctor.address, [Category.CONDITIONS, Category.MEDICATIONS], True,
                    days_from_now(carechain, 3))
    doctor = as_user(people.doctor)
    page = text(write_page(doctor, patient))
    assert offered(page) == (["diagnosis", "prescription", "document", "fhir"], ["Conditions", "Medications"])
    assert "lets you add: " in page
    vitals = doctor.post(f"/doctor/patients/{patient.address}/records/new/vitals", {"kind": "pulse", "value": "60"},
                         prefix="vitals")
    assert vitals.status_code == 403 and "does not cover vitals records" in text(vitals)
    document = doctor.post(f"/doctor/patients/{patient.address}/records/new/document",
                           {"title": "Lab letter", "category": "1", "file": (io.BytesIO(b"%PDF-1.4"), "a.pdf")},
                           prefix="document")
    assert document.status_code == 400 and "Not a valid choice" in text(document)
    assert carechain.participant(patient.address).record_count == 0


def registered_doctor(carechain, stack, people, name):
    account = Account.create()
    entry = provider_entry(account.address, name, "doctor", crypto.public_key_of(account.key))
    enrol(carechain, ProviderDirectory(stack[1].directory), people.admin, entry, people.hospital.address)
    return account


def test_a_doctor_who_may_add_nothing_gets_the_reason_instead_of_a_write_page(as_user, people, patient, new_patient,
                                                                            carechain, stack):
    def refusal(doctor, patient):
        page = write_page(as_user(doctor), patient)
        assert page.status_code == 403 and "Store record" not in text(page)
        return html.unescape(text(page))

    read_only = patient
    carechain.grant(read_only, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 3))
    assert "lets you read vitals records, not add them" in refusal(people.doctor, read_only)

    revoked = new_patient()
    carechain.grant(revoked, people.doctor.address, [Category.CONDITIONS], True, days_from_now(carechain, 3))
    assert write_page(as_user(people.doctor), revoked).status_code == 200
    carechain.revoke(revoked, people.doctor.address)
    assert "has not granted you access, or has revoked it" in refusal(people.doctor, revoked)

    suspended = registered_doctor(carechain, stack, people, "Dr. Lee Moss")
    granting = new_patient()
    carechain.grant(granting, suspended.address, [Category.CONDITIONS], True, days_from_now(carechain, 3))
    carechain.suspend_provider(people.admin, suspended.address)
    assert "Your account is suspended" in refusal(suspended, granting)

    expiring = new_patient()
    carechain.grant(expiring, people.doctor.address, [Category.CONDITIONS], True, days_from_now(carechain, 1))
    travel_to(carechain, days_from_now(carechain, 2))
    assert "expired on" in refusal(people.doctor, expiring)
    assert "Write a record" not in text(as_user(people.doctor).get(f"/doctor/patients/{expiring.address}"))


@pytest.mark.parametrize("kind, typed, kept, message", [
    ("vitals", {"kind": "temperature", "value": "47.5"}, ['value="47.5"', 'selected value="temperature"'],
     "outside the plausible range"),
    ("diagnosis", {"diagnosis": "Asthma " * 30}, ['value="' + "Asthma " * 30], "longer than 200 characters"),
    ("prescription", {"medication": "Amoxicillin 500 mg", "dosage": ""}, ['value="Amoxicillin 500 mg"'],
     "This field is required"),
    ("document", {"title": "Discharge letter", "category": "2", "file": (io.BytesIO(b"MZ\x90"), "letter.exe")},
     ['value="Discharge letter"', 'selected value="2"'], "are not accepted"),
])
def test_a_refused_record_comes_back_with_what_the_doctor_typed(as_user, people, patient, carechain, kind, typed,
                                                                 kept, message):
    carechain.grant(patient, people.doctor.address, list(Category), True, days_from_now(carechain, 3))
    response = as_user(people.doctor).post(f"/doctor/patients/{patient.address}/records/new/{kind}", typed,
                                           prefix=kind)
    page = html.unescape(text(response))
    assert response.status_code == 400 and message in page
    form = page.split(f'id="{kind}"')[1].split("</details>")[0]
    assert all(value in form for value in kept), form
    assert carechain.participant(patient.address).record_count == 0


def test_a_resource_the_chain_refuses_comes_back_in_the_form_with_the_reason(as_user, people, patient, carechain):
    carechain.grant(patient, people.doctor.address, [Category.CONDITIONS], True, days_from_now(carechain, 3))
    doctor = as_user(people.doctor)
    immunization = json.dumps(clinic_resources(patient.address)["Immunization"], indent=2)
    response = doctor.post(f"/doctor/patients/{patient.address}/records/new/fhir",
                           {"resource": (io.BytesIO(b""), ""), "pasted": immunization}, prefix="fhir")
    page = html.unescape(text(response))
    assert response.status_code == 400 and "does not cover medications records" in page
    assert immunization in page.split('id="fhir"')[1]
    allergy = json.dumps(clinic_resources(patient.address)["AllergyIntolerance"])
    stored = doctor.post(f"/doctor/patients/{patient.address}/records/new/fhir",
                         {"resource": (io.BytesIO(b""), ""), "pasted": allergy}, prefix="fhir", follow_redirects=True)
    assert "(Conditions: Allergy: Penicillin (high criticality)) stored" in text(stored)
    opened = carechain.read_record(patient, patient.address, carechain.records(patient.address)[0].digest)
    assert opened.author == people.doctor.address
