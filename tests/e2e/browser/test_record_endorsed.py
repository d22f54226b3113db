"""A lab result validated by two parties in Chromium: Dr. Chen and St. Mary's Hospital each open it
and endorse it, and the patient then sees it validated by 2 of 2, with their names."""

import pytest

from app.carechain.keystore import Keystore
from app.carechain.records import Category
from tests.e2e.browser.pages import PASSWORD, log_in, screenshot
from tests.e2e.clinic_resources import lab_result
from tests.e2e.helpers import days_from_now


@pytest.fixture
def two_endorsements_for_labs(carechain, people):
    carechain.set_policy(people.admin, Category.LABS, 2, False)
    yield
    carechain.set_policy(people.admin, Category.LABS, 0, False)  # tests share the chain


def endorse(page, patient: str, digest: str) -> None:
    page.goto(f"/doctor/patients/{patient}/records/{digest}")
    page.click("button:has-text('Endorse this record')")  # its confirmation is accepted
    page.wait_for_selector("text=You endorsed this record.")


def test_a_lab_result_endorsed_by_a_doctor_and_the_hospital_shows_validated(
        open_browser, logins, carechain, people, patient, stack, two_endorsements_for_labs):
    until = days_from_now(carechain, 2)
    carechain.grant(patient, people.colleague.address, [Category.LABS], True, until)
    carechain.grant(patient, people.hospital.address, [Category.LABS], False, until)
    result = carechain.add_record(people.colleague, patient.address, lab_result(patient.address))
    keystore = Keystore(stack[1].keystores)
    for account in (people.hospital, patient):
        if account.address not in keystore:
            keystore.import_key(account.key.hex(), PASSWORD)

    doctor = open_browser()
    log_in(doctor, logins.doctor.address)
    doctor.wait_for_selector("h1:has-text('My patients')")
    endorse(doctor, patient.address, result.digest.hex())
    assert "Awaiting validation: 1 of 2 endorsements" in doctor.inner_text(".endorsements")
    assert doctor.locator("button:has-text('Endorse this record')").count() == 0

    hospital = open_browser()
    log_in(hospital, people.hospital.address)
    hospital.wait_for_selector("h1:has-text('My hospital')")
    endorse(hospital, patient.address, result.digest.hex())

    me = open_browser()
    log_in(me, patient.address)
    me.wait_for_selector("h1:has-text('My records')")
    me.goto(f"/patient/records/{result.digest.hex()}")
    validation = me.inner_text(".endorsements")
    assert "Validated by 2 of 2: Dr. Alice Chen (St. Mary's Hospital), St. Mary's Hospital" in validation
    assert me.locator(".endorsements .badge.ok").inner_text() == "validated"
    screenshot(me, "09-record-validated")
