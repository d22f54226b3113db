"""Alerts and vitals charts on the web: the menu counts unacknowledged alerts for exactly those
who may read the patient's vitals; a doctor acknowledges one; the charts page carries each
signal's readings and band, for the patient and a granted doctor only."""

import json
import re
import time

import pytest

from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, text
from tests.e2e.library.test_ingestion import Device, complete_set


@pytest.fixture
def alerted(carechain, people, patient):
    """A patient whose device raised an emergency alert, with a vitals grant to the doctor's
    hospital and a labs grant to the outsider."""
    carechain.grant(patient, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 1))
    carechain.grant(patient, people.outsider.address, [Category.LABS], False, days_from_now(carechain, 1))
    device = Device(carechain, people, patient)
    now = int(time.time())
    result = device.send(complete_set(now - 30, respiration=30, spo2=90, pulse=135, systolic=88), now=now)
    assert "emergency" in result.score
    return result.alert


def menu_count(page: str) -> int:
    found = re.search(r'Alerts <span class="count">(\d+)</span>', page)
    return int(found.group(1)) if found else 0


def test_alerts_reach_exactly_the_vitals_readers(as_user, people, patient, alerted):
    """Tests share one chain, so providers may also see alerts of other tests' patients: each
    page must hold this alert, or not, and a provider's menu counts it among the others."""
    for account in (patient, people.doctor, people.colleague, people.hospital, people.outsider):
        page = text(as_user(account).get("/alerts/"))
        listed = f'data-alert="{alerted.digest.hex()}"' in page
        assert listed == (account is not people.outsider), account.address
        assert menu_count(page) >= 1 if listed else True
    assert menu_count(text(as_user(patient).get("/alerts/"))) == 1


def test_a_doctor_acknowledges_and_the_patient_sees_who(as_user, people, patient, alerted, carechain):
    doctor = as_user(people.doctor)
    page = text(doctor.get("/alerts/"))
    assert "emergency" in page and "NEWS2" in page and "respiration rate 30/min scores 3" in page
    waiting = menu_count(page)
    response = doctor.post(f"/alerts/{patient.address}/{alerted.digest.hex()}/acknowledge", follow_redirects=True)
    assert "Alert acknowledged" in text(response) and menu_count(text(response)) == waiting - 1
    own = text(as_user(patient).get("/alerts/"))
    assert "Acknowledged by Dr. Alice Chen" in own and menu_count(own) == 0
    trail = text(as_user(patient).get("/patient/audit?show=devices"))
    assert "was acknowledged by Dr. Alice Chen" in trail and "a device was paired" in trail


def test_hospitals_and_patients_cannot_acknowledge(as_user, people, patient, alerted):
    for account in (people.hospital, patient):
        response = as_user(account).post(f"/alerts/{patient.address}/{alerted.digest.hex()}/acknowledge")
        assert response.status_code == 302
    assert menu_count(text(as_user(patient).get("/alerts/"))) == 1


def charts_of(page: str) -> dict:
    return {chart["key"]: chart for chart in (json.loads(found.replace("&#34;", '"').replace("&quot;", '"'))
                                              for found in re.findall(r"data-chart='([^']*)'", page))}


def test_the_charts_page_plots_each_signal_against_its_band(as_user, people, patient, alerted):
    for account, url in ((patient, "/patient/vitals"), (people.doctor, f"/doctor/patients/{patient.address}/vitals")):
        page = text(as_user(account).get(url))
        charts = charts_of(page)
        assert charts["pulse"]["points"][-1][1] == 135 and charts["pulse"]["band"] == [51, 90]
        assert charts["blood_pressure"]["series"]["points"][-1][1] == 80
        assert charts["pulse"]["alerts"][0][1] == "emergency"
        assert "Critical high" in page  # the latest pulse's interpretation in the table


def test_reading_the_charts_is_logged_and_needs_a_vitals_grant(as_user, people, patient, alerted):
    as_user(people.colleague).get(f"/doctor/patients/{patient.address}/vitals")
    assert "Dr. Bob Okafor" in text(as_user(patient).get("/patient/audit?show=reads"))
    refused = as_user(people.outsider).get(f"/doctor/patients/{patient.address}/vitals")
    assert refused.status_code == 403
