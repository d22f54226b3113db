"""Emergency access through the web app: the patient builds the summary from the records, edits and
saves it and sees who could open it; a doctor without a grant declares an emergency, the hospitals
release their shares (the custodian, or the hospital's button), the doctor reads the summary under
a red banner; the patient's pages show the break-glass highlighted; the admin sets the policy and
sees the report; bad input is said in words and changes nothing."""

import html
import re

import pytest

from app.carechain.custodian import Custodian
from app.carechain.records import condition, prescription
from tests.e2e.helpers import text

REASON = "Found unconscious at the station; no relative reachable."


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def plain(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text(response))).split())


def save(me, **fields):
    data = {"allergies": "Penicillin (high criticality)\nLatex", "medications": "Insulin glargine, 20 units",
            "problems": "Type 1 diabetes", "blood_type": "A+", "implants": "Pacemaker",
            "contact_name": "Grace Hopper", "contact_relationship": "sister", "contact_phone": "+44 20 7946 0000"}
    return me.post("/patient/emergency", {**data, **fields})


def release_all(carechain, people):
    for hospital in (people.hospital, people.other_hospital):
        Custodian(carechain, hospital).release_due()


def test_the_patient_builds_from_records_edits_and_saves(me, carechain):
    carechain.add_record(me.account, me.address, condition(me.address, "Asthma"))
    carechain.add_record(me.account, me.address, prescription(me.address, "Salbutamol", "2 puffs when needed"))
    assert "You have no emergency summary yet" in plain(me.get("/patient/emergency"))

    built = me.post("/patient/emergency/build")
    assert built.status_code == 200
    assert "Asthma</textarea>" in text(built) and "Salbutamol, 2 puffs when needed" in text(built)
    assert carechain.own_emergency_summary(me.account) is None  # building saves nothing

    response = save(me, problems="Asthma\nType 1 diabetes")
    assert response.status_code == 302
    page = plain(me.get(response.headers["Location"]))
    assert "Your emergency summary is saved" in page
    assert "once 2 of these" in page and "St. Mary's Hospital" in page and "Riverside Clinic" in page
    assert carechain.own_emergency_summary(me.account).problems == ("Asthma", "Type 1 diabetes")


@pytest.mark.parametrize("fields, problem", [
    (dict(blood_type="Z+"), "Not a valid choice"),
    (dict(contact_phone=""), "An emergency contact needs a name and a phone number"),
    (dict(allergies="Peni\u202ecillin"), "control or invisible character"),
])
def test_bad_input_is_refused_keeping_what_was_typed(me, carechain, fields, problem):
    response = save(me, **fields)
    assert response.status_code == 400
    assert problem in plain(response) and "Grace Hopper" in text(response)
    assert carechain.own_emergency_summary(me.account) is None


def test_a_doctor_without_a_grant_declares_and_reads_under_a_red_banner(me, as_user, people, carechain):
    save(me)
    doctor = as_user(people.outsider)
    response = doctor.post("/doctor/emergency", {"patient": me.address, "reason": REASON})
    assert response.status_code == 302
    waiting = plain(doctor.get(response.headers["Location"]))
    assert "Emergency declared on chain" in waiting and "0 of the 2 key shares" in waiting

    release_all(carechain, people)
    page = doctor.get(f"/doctor/emergency/{me.address}")
    assert "Emergency access: logged on chain; the patient is notified." in text(page)
    assert "Penicillin (high criticality)" in text(page) and "A+" in plain(page) and "Grace Hopper" in text(page)
    assert REASON in plain(doctor.get("/doctor/emergency"))

    # The patient: a highlighted banner on every page, the audit trail's emergency lines.
    for url in ("/patient/", "/patient/grants", "/patient/emergency"):
        banner = re.search(r'<p class="flash emergency-banner".*?</p>', text(me.get(url)), re.S)
        assert banner and "Dr. Carol Diaz" in banner[0] and "opened your emergency summary" in banner[0]
        assert REASON in html.unescape(banner[0])
    audit = text(me.get("/patient/audit?show=emergency"))
    assert audit.count('class="kind-emergency-share-released"') == 2
    assert "Dr. Carol Diaz (Riverside Clinic) declared an emergency to open your emergency summary" in html.unescape(audit)
    assert "A doctor opened your summary by break-glass since you saved it" in plain(me.get("/patient/emergency"))

    # Re-sealing takes the doctor's key back: the new shares are released afresh in the open window.
    resealed = me.post("/patient/emergency/reseal")
    assert "Re-sealed under a new key" in plain(me.get(resealed.headers["Location"]))
    assert "0 of the 2 key shares" in plain(doctor.get(f"/doctor/emergency/{me.address}"))


def test_refusals_in_words(me, as_user, people, new_patient):
    doctor = as_user(people.doctor)
    for data, problem in (({"patient": new_patient().address, "reason": REASON}, "has no emergency summary"),
                          ({"patient": "0x123", "reason": REASON}, "is not a valid patient address"),
                          ({"patient": me.address, "reason": ""}, "Say why")):
        response = doctor.post("/doctor/emergency", data)
        assert response.status_code == 400 and problem in plain(response)
    assert "You have no open emergency window" in plain(doctor.get(f"/doctor/emergency/{me.address}"))
    # Other roles are kept off the pages.
    for account, url in ((me.account, "/doctor/emergency"), (people.doctor, "/patient/emergency"),
                         (people.hospital, "/doctor/emergency"), (people.doctor, "/admin/emergencies")):
        assert as_user(account).get(url).status_code == 302


def test_the_hospital_releases_by_hand(me, as_user, people, carechain):
    save(me)
    carechain.declare_emergency(people.colleague, me.address, REASON)
    hospital = as_user(people.hospital)
    page = text(hospital.get("/hospital/"))
    assert "Emergency shares due" in page and me.address in page

    response = hospital.post(f"/hospital/emergency/{me.address}/{people.colleague.address}/release")
    assert "Your share is released to Dr. Bob Okafor" in plain(hospital.get(response.headers["Location"]))
    assert me.address not in text(hospital.get("/hospital/"))
    again = hospital.post(f"/hospital/emergency/{me.address}/{people.doctor.address}/release")
    assert "Not released: the emergency window of this doctor for this patient is not open" in \
        plain(hospital.get(again.headers["Location"]))


def test_the_admin_sets_the_policy_a_second_doctor_confirms_and_the_report_lists_it(me, as_user, people, carechain):
    save(me)
    admin = as_user(people.admin)
    admin.post("/admin/emergencies/policy", {"confirmation_required": "y"})
    try:
        assert carechain.break_glass_policy() is True
        declaring, confirming = as_user(people.outsider), as_user(people.doctor)
        declaring.post("/doctor/emergency", {"patient": me.address, "reason": REASON})
        assert "It waits for a second doctor's confirmation" in plain(declaring.get("/doctor/emergency"))
        assert f'/doctor/emergency/{me.address}/{people.outsider.address}/confirm' in \
            text(confirming.get("/doctor/emergency"))
        response = confirming.post(f"/doctor/emergency/{me.address}/{people.outsider.address}/confirm")
        assert "You confirmed Dr. Carol Diaz's emergency" in plain(confirming.get(response.headers["Location"]))
        release_all(carechain, people)
        assert "Emergency access: logged on chain" in text(declaring.get(f"/doctor/emergency/{me.address}"))
    finally:
        admin.post("/admin/emergencies/policy", {})
    assert carechain.break_glass_policy() is False

    report = text(admin.get("/admin/emergencies"))
    (row,) = [row for row in report.split("<tr>") if f'title="{me.address}"' in row]
    assert "Dr. Carol Diaz" in row and "Dr. Alice Chen" in row and "St. Mary&#39;s Hospital, Riverside Clinic" in row
    assert "<h3>Riverside Clinic</h3>" in report
