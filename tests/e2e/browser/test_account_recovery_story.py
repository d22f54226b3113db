"""Key recovery in a real browser: a patient names two registered guardians and prints one share
(any two restore the key), then loses the keystore; from the login page it asks its guardians,
one doctor approves, the printed words complete the key, and the patient logs in with a new
password to its records, the recovery on its audit trail."""

from app.carechain.keystore import Keystore
from tests.e2e.browser.pages import add_pulse, click_in_more_menu, log_in, screenshot, sign_up_patient

NEW_PASSWORD = "recovered-browser-password"


def test_a_patient_recovers_its_key_with_a_guardian_and_printed_words(open_browser, logins, stack, carechain):
    patient = open_browser()
    address = sign_up_patient(patient)
    add_pulse(patient, "64")

    click_in_more_menu(patient, "Key recovery")
    for guardian in (logins.doctor, logins.colleague):
        patient.check(f"input[name=providers][value='{guardian.address}']")
    patient.fill("#offline", "1")
    patient.fill("#threshold", "2")
    patient.click("button:has-text('Split my key and name these guardians')")
    patient.wait_for_selector("text=These words are shown once and stored nowhere.")
    words = " ".join(patient.locator("ol.words li").all_inner_texts())
    assert len(words.split()) == 33 and patient.is_visible("button:has-text('Print the shares')")
    screenshot(patient, "30-printed-shares")
    patient.click("button:has-text('Log out')")

    (Keystore(stack[1].keystores).directory / f"{address}.json").unlink()  # the key is lost
    log_in(patient, address)
    patient.wait_for_selector("text=No account with this name or address and this password")

    patient.click("text=Recover my account")
    patient.fill("#patient", address)
    patient.click("button:has-text('Ask my guardians')")
    patient.wait_for_selector("text=Your request was sent to the guardians")
    assert patient.inner_text("#released") == "0"

    doctor = open_browser()
    log_in(doctor, logins.doctor.address)
    doctor.click("nav >> text=Recovery requests")
    request = doctor.locator(f"article[data-patient='{address}']")
    screenshot(doctor, "31-recovery-request")
    request.locator("button:has-text('Approve: release my share')").click()  # the confirmation is accepted
    doctor.wait_for_selector("text=was released to the account that asked")

    patient.click("text=Check again")
    patient.wait_for_selector("#released:has-text('1')")
    patient.fill("#words", words)
    patient.fill("#password", NEW_PASSWORD)
    patient.fill("#confirm", NEW_PASSWORD)
    screenshot(patient, "32-recover")
    patient.click("button:has-text('Restore my key')")
    patient.wait_for_selector("text=Your key was recovered and stored under your new password")
    assert patient.is_visible("text=Heart rate: 64 beats/minute")

    patient.click("button:has-text('Log out')")
    log_in(patient, address, NEW_PASSWORD)
    patient.wait_for_selector("text=Heart rate: 64 beats/minute")
    patient.click("nav >> text=Audit trail")
    patient.click("nav[aria-label='Kinds of events'] >> text=Recovery")
    assert patient.is_visible("tr.kind-key-recovered >> text=your key was restored from your guardians' shares")
    assert patient.is_visible("tr.kind-recovery-approved >> text=Dr. Alice Chen released their share of your key")
    screenshot(patient, "33-recovery-audit")
