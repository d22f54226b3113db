"""A doctor's pages: patients who granted access, records in scope, reading (logged), writing;
access ends on the page when a grant expires or is revoked."""

import pytest

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
    assert "Open record #1" in listing and "Write a record" not in listing
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
