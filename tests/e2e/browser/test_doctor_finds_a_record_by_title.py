"""A doctor in Chromium finds a record in a patient's list by words of its title, narrows the list
to a period of clinical dates, and opens the record found: titles and dates are shown without
opening the records, newest clinical date first. The patient's own list, filtered the same way.
(Their screenshots are the README's, docs/screenshots/.)"""

from datetime import date

from app.carechain.keystore import Keystore
from app.carechain.profiles import profile_of
from app.carechain.records import Record, document
from tests.e2e.browser.pages import PASSWORD, log_in, screenshot
from tests.e2e.clinic_resources import clinic_resources, dated_records
from tests.e2e.helpers import days_from_now


def rows(page) -> list[str]:
    return [title.strip() for title in page.locator("table.records td[data-label=Record] a").all_inner_texts()]


def test_a_doctor_finds_a_record_by_title(open_browser, logins, carechain, patient, stack):
    carechain.write_profile(patient, profile_of(patient.address, "Ada", "Lovelace", date(1990, 12, 10), "female"))
    resources = clinic_resources(patient.address)
    for record in dated_records(patient) + [
            Record.from_fhir(resources["AllergyIntolerance"]), Record.from_fhir(resources["Composition"]),
            document(patient.address, "Chest X-ray report", b"%PDF-1.4 x", "application/pdf", 1_740_000_000)]:
        carechain.add_record(patient, patient.address, record)
    carechain.grant(patient, logins.doctor.address, [0, 1, 2, 3, 4], False, days_from_now(carechain, 2))

    doctor = open_browser()
    log_in(doctor, logins.doctor.address)
    doctor.wait_for_selector("h1:has-text('My patients')")
    doctor.goto(f"/doctor/patients/{patient.address}")
    listed = rows(doctor)
    assert len(listed) == 7
    assert listed[:3] == ["Allergy: Penicillin (high criticality)",  # undated: the day it was written
                          "Discharge summary: Admission for pneumonia", "Immunization: Influenza, 2026-10-02"]
    assert listed[-1] == "Chest X-ray report"
    screenshot(doctor, "06b-doctor-records")

    doctor.fill("#text", "appendectomy")
    doctor.click("button:has-text('Filter')")
    doctor.wait_for_selector("text=1 of 7 records in your scope")
    assert rows(doctor) == ["Procedure: Appendectomy, 2026-09-14"]

    doctor.fill("#text", "")
    doctor.fill("#since", "2026-09-01")
    doctor.fill("#until", "2026-10-02")
    doctor.click("button:has-text('Filter')")
    doctor.wait_for_selector("text=2 of 7 records in your scope")
    assert rows(doctor) == ["Immunization: Influenza, 2026-10-02", "Procedure: Appendectomy, 2026-09-14"]

    doctor.click("a:has-text('Procedure: Appendectomy')")
    doctor.wait_for_selector("text=This read was logged on chain")
    assert [event.kind for event in carechain.audit_trail(patient.address, kinds=["reads"])] == ["listed", "read"]

    Keystore(stack[1].keystores).import_key(patient.key.hex(), PASSWORD)
    me = open_browser()
    log_in(me, patient.address)
    me.wait_for_selector("h1:has-text('My records')")
    assert len(rows(me)) == 7 and me.locator(".badge.verified").count() == 7
    screenshot(me, "02b-patient-records")
    me.fill("#text", "x-ray")
    me.click("button:has-text('Filter')")
    me.wait_for_selector("text=1 matching record, by clinical date")
    assert rows(me) == ["Chest X-ray report"]
