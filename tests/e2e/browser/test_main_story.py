"""The main story in a real browser: a patient signs up and adds a record, grants a doctor for a
period; the doctor logs in and reads it; chain time passes the expiry and the doctor is refused;
granted again and then revoked, the doctor is refused again."""

from tests.e2e.browser.pages import add_pulse, grant_doctor, log_in, screenshot, sign_up_patient
from tests.e2e.helpers import travel_to


def test_grant_read_expire_and_revoke(open_browser, logins, carechain):
    patient = open_browser()
    address = sign_up_patient(patient)
    add_pulse(patient, "72")
    assert patient.is_visible("text=Heart rate: 72 beats/minute")
    assert patient.is_visible(".badge.verified")
    screenshot(patient, "02-patient-records")
    patient.click("a:has-text('Heart rate: 72 beats/minute')")
    patient.wait_for_selector("text=signature checked")
    screenshot(patient, "04-record")

    grant_doctor(patient, "Dr. Alice Chen", "2")
    assert patient.is_visible("text=1 day 23 h left") or patient.is_visible("text=2 days left")
    screenshot(patient, "05-grants")

    doctor = open_browser()
    log_in(doctor, logins.doctor.address)
    doctor.wait_for_selector("h1:has-text('My patients')")
    screenshot(doctor, "06-doctor-patients")
    doctor.click(f"a:has-text('{address}')")
    doctor.click("a:has-text('Heart rate: 72 beats/minute')")
    doctor.wait_for_selector("text=This read was logged on chain")
    record_url = doctor.url
    screenshot(doctor, "07-doctor-reads")

    expiry = carechain.grant_of(address, logins.doctor.address).expires_at
    travel_to(carechain, expiry + 1)
    doctor.goto(record_url)
    assert doctor.is_visible("h1:has-text('No access')")
    assert doctor.is_visible("text=expired on")
    screenshot(doctor, "08-doctor-refused-after-expiry")

    grant_doctor(patient, "Dr. Alice Chen", "5")
    doctor.goto(record_url)
    doctor.wait_for_selector("text=Heart rate: 72 beats/minute")

    patient.click("nav >> text=Access")
    patient.click(f"article[data-grantee='{logins.doctor.address}'] >> text=Renew, narrow or revoke")
    patient.click("button:has-text('Revoke access')")
    patient.wait_for_selector("text=can no longer read your records")
    doctor.goto(record_url)
    assert doctor.is_visible("h1:has-text('No access')")
    assert doctor.is_visible("text=revoked")
    screenshot(doctor, "09-doctor-refused-after-revocation")

    patient.click("nav >> text=Audit trail")
    assert patient.is_visible("text=record #1 was read")
    assert patient.is_visible("text=Dr. Alice Chen's access was revoked")
    screenshot(patient, "10-audit-trail")


def test_admin_overview_and_a_phone_sized_dashboard(open_browser, logins):
    admin = open_browser()
    log_in(admin, logins.admin.address)
    admin.wait_for_selector("h1:has-text('Registered providers')")
    assert admin.is_visible("text=St. Mary's Hospital")
    screenshot(admin, "11-admin-providers")

    phone = open_browser(viewport={"width": 390, "height": 844}, is_mobile=True)
    sign_up_patient(phone)
    add_pulse(phone, "64")
    # On a phone the table's cells stack, each labelled, and nothing overflows sideways.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "12-phone-records")
