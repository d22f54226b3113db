"""In Chromium: a doctor writes a discharge summary with a psychiatric history section (a pasted
FHIR Composition); the patient shares it without that section with another doctor, who sees the
rest verified and that one element was withheld, never the original (granted shared copies
only); the author, not chosen, lists the patient's
records without the copy and without an error."""

import json

from app.carechain.keystore import Keystore
from app.carechain.records import Category
from tests.e2e.browser.pages import PASSWORD, log_in, screenshot
from tests.e2e.clinic_resources import PSYCHIATRIC, discharge_summary
from tests.e2e.helpers import days_from_now



def test_a_patient_shares_a_discharge_summary_without_its_psychiatric_history(open_browser, logins, carechain,
                                                                               patient, stack):
    carechain.grant(patient, logins.doctor.address, [Category.DOCUMENTS, Category.SHARED], True,
                    days_from_now(carechain, 2))
    carechain.grant(patient, logins.colleague.address, [Category.SHARED], False, days_from_now(carechain, 2))
    Keystore(stack[1].keystores).import_key(patient.key.hex(), PASSWORD)

    author = open_browser()
    log_in(author, logins.doctor.address)
    author.wait_for_selector("h1:has-text('My patients')")
    author.goto(f"/doctor/patients/{patient.address}/records/new")
    author.click("summary:has-text('A FHIR resource')")
    author.fill("#fhir-pasted", json.dumps(discharge_summary(patient.address), indent=2))
    author.click("#fhir button:has-text('Store record')")
    author.wait_for_selector("text=stored, encrypted and signed")

    me = open_browser()
    log_in(me, patient.address)
    me.wait_for_selector("h1:has-text('My records')")
    me.click("a:has-text('Discharge summary: Admission for pneumonia')")
    me.click("a:has-text('Share with parts removed')")
    me.check("input[name=withheld][value='section[1]']")
    me.uncheck(f"input[name=recipients][value='{logins.doctor.address}']")
    screenshot(me, "22-share-redacted")
    me.click("button:has-text('Share the copy')")
    me.wait_for_selector("text=Redacted copy stored as record #2 with 1 part withheld, shared with Dr. Bob Okafor")
    assert me.locator("table.records .badge:has-text('redacted copy')").count() == 1

    reader = open_browser()
    log_in(reader, logins.colleague.address)
    reader.wait_for_selector("h1:has-text('My patients')")
    reader.goto(f"/doctor/patients/{patient.address}")
    assert reader.locator("table.records td[data-label=Record] a").all_inner_texts() == [
        "Redacted copy of Discharge summary: Admission for pneumonia"]  # the copy, never the original
    reader.click("a:has-text('Redacted copy of Discharge summary: Admission for pneumonia')")
    banner = reader.locator(".redacted").inner_text()
    assert banner == "1 element withheld by the patient, the rest verified (signed by Dr. Alice Chen)"
    assert "Hospital course: Recovered well." in reader.content() and PSYCHIATRIC not in reader.content()
    screenshot(reader, "23-redacted-copy")

    author.goto(f"/doctor/patients/{patient.address}")
    assert author.locator("table.records td[data-label=Record] a").all_inner_texts() == [
        "Discharge summary: Admission for pneumonia"]
    assert "cannot be read" not in author.content()
