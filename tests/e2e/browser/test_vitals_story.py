"""Device vitals in a real browser: a patient pairs a device in the web app; the device posts
readings over HTTP until a deterioration raises an emergency alert; the doctor of a hospital the
patient granted vitals sees the alert counted in the menu, acknowledges it, and reads the charts;
the patient sees who acknowledged it."""

import html
import json
import time

import requests
from eth_account.messages import encode_defunct

from app.carechain.devices import DeviceCredential, device_account, secret_bytes
from app.carechain.keystore import Keystore
from app.carechain.records import Category
from tests.e2e.browser.pages import PASSWORD, click_in_more_menu, log_in, screenshot
from tests.e2e.helpers import days_from_now
from tests.e2e.library.test_ingestion import complete_set


def post(credential, device, sequence, readings):
    body = json.dumps({"device": device.address, "sequence": sequence, "sent_at": int(time.time()),
                       "readings": readings}).encode()
    return requests.post(credential.api, data=body, timeout=30, headers={
        "Authorization": f"CareChain-Device {credential.secret}", "Content-Type": "application/json",
        "CareChain-Signature": device.sign_message(encode_defunct(body)).signature.hex()}).json()


def test_pair_stream_alert_acknowledge_and_chart(open_browser, logins, carechain, stack, new_patient, people):
    account = new_patient()
    Keystore(stack[1].keystores).import_key(account.key.hex(), PASSWORD)
    carechain.grant(account, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 1))

    patient = open_browser()
    log_in(patient, account.address)
    click_in_more_menu(patient, "Devices")
    patient.fill("#label", "Bedside hub")
    patient.click("button:has-text('Pair the device')")
    patient.wait_for_selector("text=shown this once")
    with patient.expect_download() as download:
        patient.click("text=Save the credential file")
    assert download.value.suggested_filename.startswith("carechain-device-")
    credential = DeviceCredential.from_json(html.unescape(patient.inner_text("#credential")))
    device = device_account(secret_bytes(credential.secret), carechain._deployment)

    now = int(time.time())
    calm = post(credential, device, 1, complete_set(now - 120))
    assert calm["accepted"] == 7 and calm["alert"] is None
    worse = post(credential, device, 2, complete_set(now - 60, respiration=30, spo2=90, pulse=135, systolic=88))
    assert worse["alert"] and "emergency" in worse["score"]

    doctor = open_browser(viewport={"width": 390, "height": 844})  # a phone
    log_in(doctor, people.doctor.address)
    count = doctor.locator("nav a.alerting .count")
    waiting = int(count.inner_text())
    assert waiting >= 1
    doctor.click("nav >> text=Alerts")
    alert = doctor.locator(f"article.alert.emergency:has(a:has-text('{account.address}'))").first
    assert "respiration rate 30/min scores 3" in alert.inner_text()
    screenshot(doctor, "10-doctor-alerts-phone")
    alert.locator("button:has-text('Acknowledge')").click()
    doctor.wait_for_selector("text=Alert acknowledged")
    assert int(count.inner_text() if count.count() else 0) == waiting - 1

    doctor.goto(f"/doctor/patients/{account.address}/vitals")
    assert doctor.is_visible("h1:has-text('Vital signs of')"), doctor.inner_text("main")
    doctor.wait_for_selector("#chart-pulse[data-drawn]")
    for key in ("pulse", "spo2", "respiration", "temperature", "blood_pressure"):
        chart = doctor.locator(f"#chart-{key}")
        assert chart.get_attribute("data-drawn") is not None and chart.locator("canvas").count() >= 1
    assert int(doctor.get_attribute("#chart-pulse", "data-out-of-band")) >= 1  # 135 is above 51-90
    assert doctor.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(doctor, "11-doctor-vitals-phone")

    patient.click("nav >> text=Alerts")
    assert patient.is_visible("text=Acknowledged by Dr. Alice Chen")
    patient.click("nav >> text=Vitals")
    patient.wait_for_selector("#chart-pulse[data-drawn]")
    assert patient.is_visible("text=Alerts in this period")
    screenshot(patient, "12-patient-vitals")
