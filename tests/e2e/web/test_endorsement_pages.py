"""Endorsing on the web: a doctor or hospital that opens a record it may read gets an "Endorse this
record" button (not on its own record, nor once endorsed); every reader sees the record validated
by N of M with the endorsers' names, or awaiting validation; the admin sets the policy per
category; the patient's audit trail names who endorsed what."""

import html

import pytest

from app.carechain.endorsements import Policy
from app.carechain.records import Category
from tests.e2e.clinic_resources import lab_result
from tests.e2e.helpers import days_from_now, text

BUTTON = "Endorse this record"


@pytest.fixture
def labs_policy(carechain, people):
    yield
    carechain.set_policy(people.admin, Category.LABS, 0, False)  # tests share the chain


@pytest.fixture
def result(carechain, people, patient):
    """A lab result Dr. Chen wrote; St. Mary's and Dr. Diaz (Riverside Clinic) may read it."""
    until = days_from_now(carechain, 3)
    carechain.grant(patient, people.doctor.address, [Category.LABS], True, until)
    for reader in (people.hospital, people.outsider):
        carechain.grant(patient, reader.address, [Category.LABS], False, until)
    return carechain.add_record(people.doctor, patient.address, lab_result(patient.address))


def record_url(entry) -> str:
    return f"/doctor/patients/{entry.patient}/records/{entry.digest.hex()}"


def endorse_url(entry) -> str:
    return f"/endorsements/patients/{entry.patient}/records/{entry.digest.hex()}"


def page(user, url) -> str:
    return html.unescape(text(user.get(url)))


def test_a_doctor_endorses_a_record_from_its_page(as_user, people, result):
    diaz = as_user(people.outsider)
    assert BUTTON in page(diaz, record_url(result))
    response = diaz.post(endorse_url(result), follow_redirects=True)
    shown = html.unescape(text(response))
    assert "You endorsed this record. Endorsed by you (Riverside Clinic)." in shown and "mined in block" in shown
    assert BUTTON not in shown
    assert "Endorsed by Dr. Carol Diaz (Riverside Clinic)" in page(as_user(people.hospital), record_url(result))


def test_the_author_gets_no_button_and_a_post_by_hand_is_refused_in_words(as_user, people, result, carechain):
    chen = as_user(people.doctor)
    assert BUTTON not in page(chen, record_url(result))
    response = html.unescape(text(chen.post(endorse_url(result), follow_redirects=True)))
    assert "Not endorsed: you wrote this record and your signature already vouches for it" in response
    again = as_user(people.hospital)
    again.post(endorse_url(result))
    assert "Not endorsed: you have already endorsed this record." in html.unescape(
        text(again.post(endorse_url(result), follow_redirects=True)))
    assert len(carechain.endorsements(result.patient, [result.digest])[result.digest].endorsements) == 1


def test_the_patient_sees_awaiting_then_validated_by_2_of_2_with_names(as_user, people, patient, result, carechain,
                                                                        labs_policy):
    carechain.set_policy(people.admin, Category.LABS, 2, True)
    me = as_user(patient)
    mine = f"/patient/records/{result.digest.hex()}"
    assert "Awaiting validation: 0 of 2 endorsements from distinct hospitals" in page(me, mine)
    as_user(people.hospital).post(endorse_url(result))
    as_user(people.colleague).post(endorse_url(result))  # St. Mary's again: counts once
    assert ("Awaiting validation: 1 of 2 endorsements from distinct hospitals (endorsed by St. Mary's Hospital, "
            "Dr. Bob Okafor (St. Mary's Hospital))") in page(me, mine)
    as_user(people.outsider).post(endorse_url(result))
    shown = page(me, mine)
    assert ("Validated by 2 of 2: St. Mary's Hospital, Dr. Bob Okafor (St. Mary's Hospital), "
            "Dr. Carol Diaz (Riverside Clinic)") in shown and BUTTON not in shown


def test_only_doctors_and_hospitals_endorse_and_bad_addresses_are_not_found(as_user, people, patient, result):
    response = as_user(patient).post(endorse_url(result), follow_redirects=True)
    assert "That page is not for your account." in text(response)
    diaz = as_user(people.outsider)
    assert diaz.post(f"/endorsements/patients/0x1234/records/{result.digest.hex()}").status_code == 404
    assert diaz.post(f"/endorsements/patients/{result.patient}/records/nothex").status_code == 404
    unknown = html.unescape(text(diaz.post(f"/endorsements/patients/{result.patient}/records/{'00' * 32}",
                                           follow_redirects=True)))
    assert "Not endorsed: this patient has no such record." in unknown


def test_the_admin_sets_a_policy_and_bad_input_changes_nothing(as_user, people, carechain, labs_policy):
    admin = as_user(people.admin)
    overview = page(admin, "/admin/")
    assert overview.count("Endorsement policies") == 1 and "<title>Providers" in overview and "Set the policy" in overview
    response = admin.post("/endorsements/policies", {"category": "1", "required": "2", "distinct_hospitals": "y"},
                          follow_redirects=True)
    assert "Labs records are validated by 2 endorsements from distinct hospitals." in text(response)
    assert carechain.policies()[Category.LABS] == Policy(2, True)
    for data, problem in (({"category": "1", "required": "many"}, "Not a valid integer value"),
                          ({"category": "1", "required": "-1"}, "from 0 to 255"),
                          ({"category": "1", "required": "256"}, "from 0 to 255"),
                          ({"category": "1", "required": ""}, "Give the number of endorsements required"),
                          ({"category": "9", "required": "1"}, "Not a valid choice")):
        refused = text(admin.post("/endorsements/policies", data, follow_redirects=True))
        assert "Not changed:" in refused and problem in refused, data
    assert carechain.policies()[Category.LABS] == Policy(2, True)
    dropped = admin.post("/endorsements/policies", {"category": "1", "required": "0"}, follow_redirects=True)
    assert "Labs records need no endorsement." in text(dropped)
    assert carechain.policies()[Category.LABS] == Policy()


def test_nobody_else_sets_a_policy(as_user, people, carechain):
    before = carechain.policies()
    for account in (people.hospital, people.doctor):
        response = as_user(account).post("/endorsements/policies", {"category": "1", "required": "3"},
                                         follow_redirects=True)
        assert "That page is not for your account." in text(response)
    assert carechain.policies() == before


def test_the_audit_trail_names_who_endorsed_which_record(as_user, people, patient, result):
    as_user(people.outsider).post(endorse_url(result))
    me = as_user(patient)
    line = f"record #{result.origin} was endorsed by Dr. Carol Diaz"
    assert line in page(me, "/patient/audit") and line in page(me, "/patient/audit?show=records")
