"""Research in Chromium: a patient opts in to Conditions from the Research page and sees exactly
what is shared; a research institution submits a count from its form; the steward service answers
it; the institution sees the noisy count with its accuracy; the patient sees the query that used
their data."""

import secrets
import threading

from app.carechain.keystore import Keystore
from app.carechain.records import Category, Record, fhir_datetime, patient_reference
from app.carechain.steward import Steward
from tests.e2e.browser.pages import PASSWORD, click_in_more_menu, log_in, screenshot


def test_a_patient_opts_in_and_sees_the_query_a_researcher_asked(open_browser, carechain, people, patient,
                                                                  institution, steward, stack):
    code = f"urn:test:research-browser|{secrets.token_hex(4)}"
    system, value = code.split("|")
    carechain.add_record(patient, patient.address, Record.from_fhir({
        "resourceType": "Condition", "code": {"coding": [{"system": system, "code": value}]},
        "subject": patient_reference(patient.address), "recordedDate": fhir_datetime(1_700_000_000)}))
    spent = carechain.research.policy(Category.CONDITIONS).spent
    carechain.research.set_policy(people.admin, Category.CONDITIONS, round(spent + 5, 6), 1)
    keystore = Keystore(stack[1].keystores)
    for account in (patient, institution):
        keystore.import_key(account.key.hex(), PASSWORD)

    me = open_browser()
    log_in(me, patient.address)
    me.wait_for_selector("h1:has-text('My records')")
    click_in_more_menu(me, "Research")
    me.check(f"input[name=datasets][value='{int(Category.CONDITIONS)}']")
    me.click("button:has-text('Opt in')")
    me.wait_for_selector("text=Your de-identified data is shared for research.")
    assert code in me.inner_text("#shared")
    screenshot(me, "research-contribution")

    researcher = open_browser()
    log_in(researcher, institution.address)
    researcher.wait_for_selector("h1:has-text('Research queries')")
    researcher.select_option("#dataset", str(int(Category.CONDITIONS)))
    researcher.fill("#code", code)
    researcher.fill("#epsilon", "2")
    researcher.click("button:has-text('Submit the query')")
    researcher.wait_for_selector("text=waiting for the steward")

    stop = threading.Event()  # the steward service, as make run runs it
    threading.Thread(target=Steward(carechain, steward).run, args=(stop, 0.2), daemon=True).start()
    try:
        for _ in range(50):
            researcher.reload()
            if researcher.locator("#ask ~ table .result").count():
                break
            researcher.wait_for_timeout(200)
    finally:
        stop.set()
    answer = researcher.inner_text("table.queries")
    assert "count:" in answer and "±" in answer and f"Count of contributors in Conditions, with {code}" in answer
    screenshot(researcher, "research-answer")

    me.reload()
    used = me.inner_text("table.queries")
    assert f"Count of contributors in Conditions, with {code}" in used and "2" in used
