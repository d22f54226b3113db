"""Importing a FHIR Bundle on the web: the patient's and a doctor's upload, the report of what was
imported and skipped, files refused as a whole, and the form's CSRF protection."""

import io
import json

import pytest

from app.carechain.records import Category
from tests.e2e.clinic_resources import exported_bundle
from tests.e2e.helpers import days_from_now, text


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def upload(user, url, content: bytes, **kwargs):
    return user.post(url, {"bundle": (io.BytesIO(content), "export.json")}, content_type="multipart/form-data",
                     **kwargs)


def count(carechain, address):
    return carechain.participant(address).record_count


def test_the_patient_imports_a_bundle_and_sees_the_report(me, carechain):
    page = text(me.get("/patient/records/new"))
    assert "/patient/records/import" in page

    response = upload(me, "/patient/records/import", json.dumps(exported_bundle()).encode())

    page = text(response)
    assert response.status_code == 200
    assert "Imported: 5 records" in page and "Skipped: 1 entry" in page
    assert "Heart rate: 72 beats/minute" in page and "Salbutamol inhaler" in page
    assert "a Patient entry is not stored" in page
    assert count(carechain, me.address) == 5

    again = text(upload(me, "/patient/records/import", json.dumps(exported_bundle()).encode()))
    assert "Imported: 0 records" in again and again.count("already stored, as record #") == 5
    assert count(carechain, me.address) == 5


def test_a_doctor_imports_into_the_categories_the_grant_allows(as_user, carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS, Category.LABS], True,
                    days_from_now(carechain, 30))
    doctor = as_user(people.doctor)
    url = f"/doctor/patients/{patient.address}/records/import"
    form = text(doctor.get(url))
    assert "This patient's grant lets you add" in form and "Labs" in form

    page = text(upload(doctor, url, json.dumps(exported_bundle()).encode()))

    assert "Imported: 2 records" in page and page.count("no write access to") == 3
    assert count(carechain, patient.address) == 2


def test_a_doctor_without_write_access_gets_no_form(as_user, people, patient):
    response = as_user(people.colleague).get(f"/doctor/patients/{patient.address}/records/import")
    assert response.status_code == 403


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"{not json", "not valid JSON"),
    (json.dumps({"resourceType": "Observation", "status": "final"}).encode(), "not a FHIR Bundle"),
    (json.dumps({**exported_bundle(), "type": "history"}).encode(), "cannot be imported"),
])
def test_a_bad_file_is_refused_on_the_form_and_stores_nothing(me, carechain, content, message):
    response = upload(me, "/patient/records/import", content)
    assert response.status_code == 400 and message.lower() in text(response).lower()
    assert count(carechain, me.address) == 0


def test_no_file_is_refused(me, carechain):
    response = me.post("/patient/records/import", {})
    assert response.status_code == 400 and "Choose a Bundle file." in text(response)


def test_an_upload_without_the_csrf_token_is_refused(me, carechain):
    response = upload(me, "/patient/records/import", json.dumps(exported_bundle()).encode(), csrf=False)
    assert response.status_code == 400
    assert count(carechain, me.address) == 0
