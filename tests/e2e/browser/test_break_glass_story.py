"""In Chromium: a patient writes an emergency summary; Dr. Okafor, with no grant, declares an
emergency with a reason; the custodian hospitals release their shares on their own; the doctor
reads the allergies under the red banner, and the patient sees the highlighted banner and the
audit trail's emergency lines."""

import time

from scripts import custodian
from tests.e2e.browser.pages import click_in_more_menu, log_in, screenshot, sign_up_patient

REASON = "Brought in unconscious after a fall; needs anaesthesia."


def test_an_er_doctor_breaks_the_glass_and_the_patient_sees_it(open_browser, logins, stack, carechain):
    patient = open_browser()
    address = sign_up_patient(patient)
    click_in_more_menu(patient, "Emergency")
    patient.click("button:has-text('Build from my records')")
    patient.fill("#allergies", "Penicillin (anaphylaxis)")
    patient.select_option("#blood_type", "O-")
    patient.fill("#contact_name", "Grace Hopper")
    patient.fill("#contact_phone", "+44 20 7946 0000")
    screenshot(patient, "30-patient-emergency-summary")
    patient.click("button:has-text('Save the emergency summary')")
    patient.wait_for_selector("text=Your emergency summary is saved")
    assert carechain.grant_of(address, logins.colleague.address).expires_at == 0

    stop = custodian.start(stack[1], [logins.hospital, logins.other_hospital])
    try:
        doctor = open_browser()
        log_in(doctor, logins.colleague.address)
        doctor.click("nav >> text=Emergency access")
        doctor.fill("#patient", address)
        doctor.fill("#reason", REASON)
        doctor.click("button:has-text('Declare an emergency')")
        doctor.wait_for_selector("text=Emergency declared on chain")
        for _ in range(60):  # the custodians release within seconds; the page says so until then
            if doctor.is_visible("text=Emergency access: logged on chain; the patient is notified."):
                break
            time.sleep(0.5)
            doctor.reload()
        assert "Penicillin (anaphylaxis)" in doctor.inner_text("ul.allergies")
        assert "O-" in doctor.inner_text("dl.emergency-summary")
        screenshot(doctor, "31-doctor-emergency-access")
    finally:
        stop.set()

    patient.goto("/patient/")
    banner = patient.inner_text("p.emergency-banner")
    assert "Dr. Bob Okafor" in banner and "opened your emergency summary" in banner and REASON in banner
    patient.click("nav >> text=Audit trail")
    patient.click("nav.pages >> text=Emergency")
    declared = patient.locator("tr.kind-emergency-declared")
    assert "Dr. Bob Okafor (St. Mary's Hospital) declared an emergency" in declared.inner_text()
    assert declared.evaluate("row => getComputedStyle(row.cells[0]).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert patient.locator("tr.kind-emergency-share-released").count() == 2
    screenshot(patient, "32-patient-sees-break-glass")
