"""A doctor's list of a patient's records: what each record is (title, clinical date, author)
without opening it, newest clinical date first; filters by category and dates, search by title;
the listing logged on chain once per visit, each opened record as a read."""

import pytest

from app.accounts import keyring
from app.doctor import VISIT
from tests.e2e.clinic_resources import dated_records
from tests.e2e.helpers import days_from_now, text


@pytest.fixture
def shared(carechain, patient, people):
    for record in dated_records(patient):
        carechain.add_record(patient, patient.address, record)
    carechain.grant(patient, people.doctor.address, [0, 2, 3], True, days_from_now(carechain, 3))
    return patient


def order_of(page: str, *titles) -> list[int]:
    return [page.index(title) for title in titles]


def test_the_list_says_what_each_record_is_newest_clinical_date_first(as_user, people, shared):
    page = text(as_user(people.doctor).get(f"/doctor/patients/{shared.address}"))
    positions = order_of(page, "Immunization: Influenza, 2026-10-02", "Procedure: Appendectomy, 2026-09-14",
                         "Heart rate: 64 beats/minute", "Type 2 diabetes")
    assert positions == sorted(positions)
    assert "14 Sep 2026" in page  # a date alone, as given
    assert '<time datetime="2026-10-02T09:30:00Z">' in page  # a moment, shown in the reader's zone
    assert "4 of 4 records in your scope" in page and "the patient" in page


def test_oldest_first(as_user, people, shared):
    page = text(as_user(people.doctor).get(f"/doctor/patients/{shared.address}?order=oldest"))
    positions = order_of(page, "Type 2 diabetes", "Heart rate: 64 beats/minute", "Procedure: Appendectomy")
    assert positions == sorted(positions)


def test_search_by_title_and_filters(as_user, people, shared):
    doctor = as_user(people.doctor)
    found = text(doctor.get(f"/doctor/patients/{shared.address}?text=appendectomy"))
    assert "Procedure: Appendectomy" in found and "Type 2 diabetes" not in found and "1 of 4 records" in found
    vitals = text(doctor.get(f"/doctor/patients/{shared.address}?category=0"))
    assert "Heart rate: 64" in vitals and "Appendectomy" not in vitals
    autumn = text(doctor.get(f"/doctor/patients/{shared.address}?since=2026-09-01&until=2026-09-30"))
    assert "Appendectomy" in autumn and "Influenza" not in autumn and "diabetes" not in autumn
    none = text(doctor.get(f"/doctor/patients/{shared.address}?text=nothing+like+it"))
    assert "No record matches these filters (4 in your scope)" in none


def test_a_malformed_filter_is_named_and_filters_nothing(as_user, people, shared):
    response = as_user(people.doctor).get(f"/doctor/patients/{shared.address}?since=yesterday&category=9")
    page = text(response)
    assert response.status_code == 200 and "Not a valid date value." in page and "Not a valid choice." in page
    assert "4 of 4 records" in page


def test_the_listing_is_logged_once_per_visit_and_each_opened_record_as_a_read(as_user, people, shared,
                                                                               carechain):
    doctor = as_user(people.doctor)
    for query in ("", "?text=diabetes", "?order=oldest"):
        assert doctor.get(f"/doctor/patients/{shared.address}{query}").status_code == 200
    reads = carechain.audit_trail(shared.address, kinds=["reads"])
    assert [(event.kind, event.actor) for event in reads] == [("listed", people.doctor.address)]
    audit = text(as_user(shared).get("/patient/audit?show=reads"))
    assert ("Dr. Alice Chen listed your vitals, conditions, medications records (their titles and dates, "
            "not their contents)") in audit
    another_visit = as_user(people.doctor)  # another session: another visit
    another_visit.get(f"/doctor/patients/{shared.address}")
    assert len(carechain.audit_trail(shared.address, kinds=["reads"])) == 2


def test_a_revoked_doctor_lists_nothing(as_user, people, shared, carechain):
    carechain.revoke(shared, people.doctor.address, rotate=False)
    response = as_user(people.doctor).get(f"/doctor/patients/{shared.address}")
    assert response.status_code == 403 and "Type 2 diabetes" not in text(response)
    assert carechain.audit_trail(shared.address, kinds=["reads"]) == []


def test_a_list_shown_again_after_a_visit_is_logged_again(app, as_user, people, shared, carechain):
    doctor = as_user(people.doctor)
    doctor.get(f"/doctor/patients/{shared.address}")
    with doctor.client.session_transaction() as session, app.test_request_context():
        unlocked = keyring().get(session["token"])
    unlocked.listed[shared.address] -= VISIT  # the visit's half hour has passed
    doctor.get(f"/doctor/patients/{shared.address}")
    doctor.get(f"/doctor/patients/{shared.address}?order=oldest")  # the new visit's, logged already
    assert [event.kind for event in carechain.audit_trail(shared.address, kinds=["reads"])] == ["listed", "listed"]
