"""A rotation in a real browser: a patient with two records revokes a doctor (re-encrypting, the
default); the records page still lists each record once under the number it had, the history is
one click away and says why it was re-encrypted, and so does the audit trail."""

import time

from tests.e2e.browser.pages import add_pulse, grant_doctor, screenshot, sign_up_patient

ROW_NUMBERS = "Array.from(document.querySelectorAll('table.records td[data-label=\"#\"]'), td => td.textContent.trim())"


def listed_numbers(page, expected: list[str], seconds: float = 10) -> list[str]:
    """The numbers of the records page's rows, once they are `expected` or `seconds` have passed
    (polled from Python: the Content-Security-Policy blocks Playwright's wait_for_function)."""
    deadline = time.monotonic() + seconds
    while (numbers := page.evaluate(ROW_NUMBERS)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return numbers


def test_a_rotation_leaves_a_clean_list_with_history_one_click_away(open_browser, logins):
    patient = open_browser()
    sign_up_patient(patient)
    add_pulse(patient, "72")
    add_pulse(patient, "64")
    assert listed_numbers(patient, ["2", "1"]) == ["2", "1"]
    assert patient.locator("a.history").count() == 0
    grant_doctor(patient, "Dr. Alice Chen", "5")

    patient.click(f"article[data-grantee='{logins.doctor.address}'] >> text=Renew, narrow or revoke")
    assert patient.is_checked("input[name$='rotate']")  # re-encrypting is the default
    patient.click("button:has-text('Revoke access')")
    patient.wait_for_selector("text=2 records re-encrypted under new keys")

    patient.click("nav >> text=Records")
    assert listed_numbers(patient, ["2", "1"]) == ["2", "1"]
    for title in ("Heart rate: 72 beats/minute", "Heart rate: 64 beats/minute"):
        assert patient.locator(f"table.records a:has-text('{title}')").count() == 1
    assert patient.locator("a.history").count() == 2
    assert patient.locator("text=replaced").count() == 0
    screenshot(patient, "13-records-after-rotation")

    patient.click("tr:has-text('72 beats/minute') >> a.history")
    patient.wait_for_selector("h1:has-text('History of record #1')")
    assert patient.is_visible("text=first version")
    assert patient.is_visible("text=re-encrypted after revoking Dr. Alice Chen")
    assert patient.locator("table.history tbody tr").count() == 2
    screenshot(patient, "14-record-history")
    patient.click("text=Open the current version")
    patient.wait_for_selector("text=signature checked")
    assert patient.is_visible("text=Record #1")

    patient.click("nav >> text=Audit trail")
    patient.wait_for_selector("text=record #1 was re-encrypted after revoking Dr. Alice Chen")  # the page loaded
    assert patient.is_visible("text=record #2 was re-encrypted after revoking Dr. Alice Chen")
    assert patient.locator("td:has-text('was added')").count() == 2
    assert patient.locator("text=record #3").count() == 0 and patient.locator("text=record #4").count() == 0
    screenshot(patient, "15-audit-after-rotation")
