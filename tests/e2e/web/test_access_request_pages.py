"""Requests for access through the web app: the doctor asks (with a reason), the patient sees it by
the doctor's name, approves with an adjusted scope or declines, and the doctor sees the outcome;
bad input and answers sent twice are said in words and change nothing."""

import html
import re

import pytest

from app.carechain.records import Category
from tests.e2e.helpers import pulse, text

REASON = "Your GP referred you for a cardiology review next week."


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


@pytest.fixture
def doctor(as_user, people):
    return as_user(people.doctor)


def ask(doctor, patient, categories=("0", "1"), access="write", days="14", reason=REASON):
    return doctor.post("/doctor/requests", {"patient": patient.address, "categories": list(categories),
                                            "access": access, "days": days, "reason": reason})


def plain(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text(response)))


def test_the_doctor_asks_and_the_patient_sees_the_request_by_name_with_its_reason(me, doctor, people):
    response = ask(doctor, me)
    assert response.status_code == 302
    assert "Your request was sent" in text(doctor.get(response.headers["Location"]))

    page = plain(me.get("/patient/requests"))
    assert "Dr. Alice Chen" in page and "doctor, St. Mary's Hospital" in page and REASON in page
    assert re.search(r"Asks to read and add\s+Vitals\s+Labs\s+records for\s+14 days", " ".join(page.split()))
    assert 'aria-label="Requests for access: 1 waiting"' in text(me.get("/patient/"))
    mine = plain(doctor.get("/doctor/requests"))
    assert me.address in mine and "Open : waiting for the patient's answer" in " ".join(mine.split())


def test_the_patient_approves_with_less_than_asked_and_the_doctor_sees_the_outcome(me, doctor, people, carechain):
    entry = carechain.add_record(me.account, me.address, pulse(me.account, 64))
    ask(doctor, me)
    response = me.post(f"/patient/requests/{people.doctor.address}/approve",
                       {"categories": ["0"], "access": "read", "days": "3"}, prefix=people.doctor.address)
    assert response.status_code == 302
    assert "Approved: Dr. Alice Chen may now read your vitals records until" in text(me.get("/patient/requests"))

    grant = carechain.grant_of(me.address, people.doctor.address)
    assert (grant.categories, grant.can_write) == ([Category.VITALS], False)
    assert "Approved" in plain(doctor.get("/doctor/requests"))
    record = text(doctor.get(f"/doctor/patients/{me.address}/records/{entry.digest.hex()}"))
    assert "Heart rate: 64 beats/minute" in record
    assert "No request is waiting for your answer" in text(me.get("/patient/requests"))


def test_the_approval_form_starts_as_asked(me, doctor, people):
    ask(doctor, me, categories=("1", "3"), access="read", days="10")
    form = text(me.get("/patient/requests")).split('action="/patient/requests/')[1].split("</form>")[0]
    inputs = re.findall(r"<input[^>]*>", form)

    def checked(name):
        return [re.search(r'value="([^"]*)"', i)[1] for i in inputs if f'-{name}"' in i and " checked" in i]

    assert checked("categories") == ["1", "3"] and checked("access") == ["read"]
    assert re.search(r'name="[^"]*-days"[^>]*value="10"', form)


def test_declining_tells_the_doctor_who_may_ask_again(me, doctor, people, carechain):
    ask(doctor, me)
    response = me.post(f"/patient/requests/{people.doctor.address}/decline", {})
    assert "You declined Dr. Alice Chen's request" in plain(me.get(response.headers["Location"]))
    assert carechain.grant_of(me.address, people.doctor.address).expires_at == 0
    assert "Declined" in plain(doctor.get("/doctor/requests"))
    assert ask(doctor, me).status_code == 302


def test_the_doctor_withdraws_an_open_request(me, doctor, people, carechain):
    ask(doctor, me)
    response = doctor.post(f"/doctor/requests/{me.address}/withdraw", {})
    assert "Your request is withdrawn" in text(doctor.get(response.headers["Location"]))
    assert carechain.request_between(me.address, people.doctor.address).outcome == "withdrawn"
    assert "Withdrawn" in plain(me.get("/patient/requests"))


def test_an_answer_sent_twice_says_the_request_is_no_longer_open(me, doctor, people, carechain):
    """A double click, or a second tab: the first answer counts, the second is said in words."""
    ask(doctor, me)
    approval = {"categories": ["0"], "access": "read", "days": "3"}
    me.post(f"/patient/requests/{people.doctor.address}/approve", approval, prefix=people.doctor.address)
    again = me.post(f"/patient/requests/{people.doctor.address}/approve", approval, prefix=people.doctor.address)
    assert again.status_code == 400 and "no longer open" in text(again)
    declined = me.post(f"/patient/requests/{people.doctor.address}/decline", {})
    assert "Not declined: this request is no longer open" in text(me.get(declined.headers["Location"]))
    assert [e.kind for e in carechain.audit_trail(me.address, kinds=["grants"])].count("granted") == 1


@pytest.mark.parametrize("fields, message", [
    ({"categories": []}, "Choose at least one category."),
    ({"days": ""}, "Give a number of days (1–3650)."),
    ({"days": "0"}, "Number must be between 1 and 3650"),
    ({"reason": "x" * 1001}, "Field cannot be longer than 1000 characters."),
    ({"reason": "look\u202eaway"}, "control or invisible character"),
    ({"patient": "0x1234"}, "is not a valid patient address"),
])
def test_bad_requests_are_refused_beside_the_form_and_send_nothing(me, doctor, carechain, fields, message):
    data = {"patient": me.address, "categories": ["0"], "access": "read", "days": "7", "reason": REASON, **fields}
    response = doctor.post("/doctor/requests", data)
    assert response.status_code == 400 and message in html.unescape(text(response))
    assert carechain.requests_to(me.address) == []


def test_asking_someone_who_is_not_a_patient_is_refused(doctor, people, carechain):
    response = ask(doctor, people.colleague)
    assert response.status_code == 400 and "is not a registered patient" in text(response)


def test_bad_approvals_keep_the_request_open(me, doctor, people, carechain):
    ask(doctor, me)
    for fields, message in (({"categories": [], "days": "3"}, "Choose at least one category."),
                            ({"categories": ["0"], "days": "", "until": ""}, "give either a number of days")):
        response = me.post(f"/patient/requests/{people.doctor.address}/approve", {"access": "read", **fields},
                           prefix=people.doctor.address)
        assert response.status_code == 400 and message.lower() in text(response).lower()
    assert carechain.request_between(me.address, people.doctor.address).outcome == "open"


def test_pages_are_for_their_roles_only(me, doctor):
    assert me.get("/doctor/requests").status_code == 302
    assert doctor.get("/patient/requests").status_code == 302


def test_a_reason_that_is_not_the_doctors_is_said_on_the_page_not_shown(me, people, carechain):
    """A provider in bad faith sends the request from its own tools, with a record as its reason."""
    record = carechain.add_record(me.account, me.address, pulse(me.account))
    carechain.chain.transact(people.doctor, "requestAccess", me.address, 1, False, 86400, record.digest)
    page = text(me.get("/patient/requests"))
    assert "The reason could not be read: The request&#39;s reason does not come from the provider who asked" in page
    assert "Approve and give access" in page
