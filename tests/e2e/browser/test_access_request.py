"""In Chromium: Dr. Okafor asks a new patient for access with a reason; the patient sees the request
by the doctor's name in the menu's count, gives less than was asked (vitals, not labs), and the
doctor sees the approval and opens the patient's records."""

from tests.e2e.browser.pages import add_pulse, log_in, screenshot, sign_up_patient

REASON = "Referred by your GP: I will review your heart rate before Thursday's appointment."


def test_a_doctor_asks_and_the_patient_approves_less_than_asked(open_browser, logins):
    patient = open_browser()
    address = sign_up_patient(patient)
    add_pulse(patient, "58")

    doctor = open_browser()
    log_in(doctor, logins.colleague.address)
    doctor.wait_for_selector("h1:has-text('My patients')")
    doctor.click("text=Ask a patient for access")
    doctor.fill("#patient", address)
    doctor.check("input[name=categories][value='0']")
    doctor.check("input[name=categories][value='1']")
    doctor.fill("#days", "14")
    doctor.fill("#reason", REASON)
    screenshot(doctor, "20-doctor-asks-for-access")
    doctor.click("button:has-text('Send the request')")
    doctor.wait_for_selector("text=Your request was sent")
    assert "waiting for the patient's answer" in doctor.inner_text(f"article[data-patient='{address}']")

    patient.reload()
    assert patient.inner_text("nav a[href='/patient/requests'] .count") == "1"
    patient.click("nav >> text=Requests")
    request = patient.locator(f"article.request[data-provider='{logins.colleague.address}']")
    assert "Dr. Bob Okafor" in request.inner_text() and REASON in request.inner_text()
    assert request.locator("input[value='1'][type=checkbox]").is_checked()  # as asked, until the patient says
    request.locator("input[value='1'][type=checkbox]").uncheck()
    screenshot(patient, "21-patient-answers-request")
    request.locator("button:has-text('Approve and give access')").click()
    patient.wait_for_selector("text=Approved: Dr. Bob Okafor may now read your vitals records until")
    assert patient.is_visible("text=No request is waiting for your answer")

    doctor.reload()
    outcome = doctor.inner_text(f"article[data-patient='{address}'] .outcome")
    assert outcome.startswith("Approved")
    doctor.click(f"article[data-patient='{address}'] >> text=see the records")
    doctor.wait_for_selector("text=Heart rate: 58 beats/minute")
    assert doctor.inner_text("p:has-text('You may read:')").split() == ["You", "may", "read:", "Vitals"]
