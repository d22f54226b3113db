"""The key recovery pages: a patient names guardians (the printed words shown once), sees and cancels
open requests; guardians see and approve requests; anyone recovers an account from the login page
with released shares and typed words, under a new password. Bad input is refused with a message
and changes nothing."""

import html
import re

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from app import create_app
from app.carechain.keystore import Keystore
from tests.e2e.helpers import text
from tests.e2e.web.conftest import FAUCET
from tests.e2e.web.test_form_fuzzing import FUZZ, answered, numbers, texts

WORDS = re.compile(r'<ol class="words">(.*?)</ol>', re.S)
NEW_PASSWORD = "a brand new password"


@pytest.fixture(scope="module")
def app(stack, people):
    """An app of this module's own: a recovery counts against its network's new accounts, as a
    sign-up does, so these tests spend their own allowance, not the other web tests'."""
    return create_app({"TESTING": True, "CARECHAIN": stack[1], "FAUCET_KEY": FAUCET.key.hex()})


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def printed_shares(page: str) -> list[str]:
    return [" ".join(re.findall(r"<li>(\w+)</li>", found)) for found in WORDS.findall(page)]


def name(me, providers=(), others="", offline=1, threshold=2):
    return me.post("/recovery/guardians", {"providers": list(providers), "others": others, "offline": offline,
                                           "threshold": threshold})


def start(visitor, patient):
    return visitor.post("/recovery/start", {"patient": patient.address})


def requester_of(carechain, patient) -> str:
    (opened,) = carechain.open_recoveries(patient.address)
    return opened.requester


def test_the_patient_names_guardians_and_sees_the_words_once(me, people, new_patient, carechain):
    family = new_patient()
    assert 'href="/recovery/guardians"' in text(me.get("/patient/"))  # in the patient's menu
    form = text(me.get("/recovery/guardians"))
    assert "You have named no guardians" in form and "Dr. Alice Chen (doctor)" in form

    page = text(name(me, [people.doctor.address], family.address, offline=1, threshold=2))

    (words,) = printed_shares(page)
    assert len(words.split()) == 33 and carechain.guardians_of(me.address).threshold == 2
    assert "shown once and stored nowhere" in page and "Whoever holds 2 shares can take over your account" in page
    assert "data-print" in page and me.address in page
    again = text(me.get("/recovery/guardians"))
    assert words.split()[0] not in printed_shares(again) and "Any <strong>2 of 3</strong>" in again
    assert "Dr. Alice Chen" in again and family.address in again and "1 printed share" in again
    trail = html.unescape(text(me.get("/patient/audit?show=recovery")))
    assert "you named guardians: any 2 of 3 shares restore your key" in trail


@pytest.mark.parametrize("fields, problem", [
    (dict(threshold=4), "The number of shares that restore the key must be from 2 to 2"),
    (dict(threshold=1), "Number must be between 2 and 16."),
    (dict(offline=""), "Give a number, 0 for none."),
    (dict(offline=20), "Number must be between 0 and 16."),
    (dict(others="0x1234"), "is not a valid guardian address"),
    (dict(others=Account.create().address), "is not a registered patient, doctor or hospital"),
    (dict(providers=["0x" + "ab" * 20]), "is not a valid choice for this field."),
])
def test_bad_guardians_are_refused_and_change_nothing(me, people, carechain, fields, problem):
    response = name(me, **{"providers": [people.doctor.address], "offline": 1, **fields})
    assert response.status_code == 400
    assert problem in html.unescape(text(response))
    assert carechain.guardians_of(me.address) is None


def test_a_guardian_approves_and_the_account_is_recovered_under_a_new_password(app, me, people, visitor, as_user,
                                                                               carechain):
    (words,) = printed_shares(text(name(me, [people.doctor.address], offline=1, threshold=2)))
    assert 'href="/recovery/start"' in text(visitor.get("/auth/login"))

    assert start(visitor, me.account).headers["Location"] == "/recovery/collect"
    assert "Released by guardians so far:\n      <strong id=\"released\">0</strong>" in text(visitor.get("/recovery/collect"))
    doctor = as_user(people.doctor)
    requests = text(doctor.get("/recovery/requests"))
    assert me.address in requests and "Approve: release my share" in requests
    requester = requester_of(carechain, me.account)
    doctor.post("/recovery/requests/approve", {"patient": me.address, "requester": requester})
    assert "You approved this request." in text(doctor.get("/recovery/requests"))
    assert '<strong id="released">1</strong> (Dr. Alice Chen)' in text(visitor.get("/recovery/collect"))

    response = visitor.post("/recovery/collect", {"words": words.upper(), "password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert me.address in text(visitor.get("/patient/"))  # logged in as the patient
    keystore = Keystore(app.config["CARECHAIN"].keystores)
    assert keystore.unlock(me.address, NEW_PASSWORD).key == me.account.key
    trail = html.unescape(text(me.get("/patient/audit?show=recovery")))
    for line in ("asked your guardians for your key", "Dr. Alice Chen released their share of your key",
                 "your key was restored from your guardians' shares and signs again"):
        assert line in trail
    assert 'class="kind-recovery-requested"' in trail and 'class="kind-key-recovered"' in trail


def test_a_non_guardian_cannot_approve(me, people, visitor, as_user, carechain):
    name(me, [people.doctor.address], offline=1)
    start(visitor, me.account)
    colleague = as_user(people.colleague)
    assert me.address not in text(colleague.get("/recovery/requests"))
    colleague.post("/recovery/requests/approve", {"patient": me.address,
                                                  "requester": requester_of(carechain, me.account)})
    assert "You are not a guardian of" in html.unescape(text(colleague.get("/recovery/requests")))
    assert carechain.open_recoveries(me.address)[0].approvals == ()


@pytest.mark.parametrize("words, problem", [
    ("", "0 of the 2 shares needed so far (0 released by guardians, 0 typed): 2 more needed."),
    ("acid " * 32, "32 words typed, but each share has 33"),
    ("zebra " * 33, "Printed share 1 is not a valid share"),
])
def test_wrong_or_too_few_words_are_refused(me, people, visitor, words, problem):
    name(me, [people.doctor.address], offline=1)
    start(visitor, me.account)
    response = visitor.post("/recovery/collect", {"words": words, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert problem in html.unescape(text(response))
    assert 'id="patient"' in text(visitor.get("/recovery/collect"))  # still waiting, still logged out
    assert visitor.get("/patient/").status_code == 302


def test_one_share_is_not_enough_and_the_password_is_checked(me, people, visitor):
    (words,) = printed_shares(text(name(me, [people.doctor.address], offline=1)))
    start(visitor, me.account)
    response = visitor.post("/recovery/collect", {"words": words, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "1 of the 2 shares needed so far (0 released by guardians, 1 typed): 1 more needed." in text(response)
    response = visitor.post("/recovery/collect", {"words": words, "password": "short", "confirm": "short"})
    assert response.status_code == 400 and "Use at least 8 characters." in text(response)


@pytest.mark.parametrize("address, problem", [
    ("0x1234", "is not a valid account address"),
    ("", "Give the address of the account to recover."),
])
def test_recovery_needs_a_valid_address(visitor, address, problem):
    response = visitor.post("/recovery/start", {"patient": address})
    assert response.status_code == 400 and problem in html.unescape(text(response))


def test_recovery_needs_guardians(visitor, patient):
    response = visitor.post("/recovery/start", {"patient": patient.address})
    assert response.status_code == 400 and "has named no guardians" in text(response)


def test_collecting_without_a_request_starts_one(visitor):
    response = visitor.get("/recovery/collect")
    assert response.status_code == 302 and response.headers["Location"] == "/recovery/start"


def test_the_patient_sees_and_cancels_an_unexpected_request(me, people, visitor, carechain):
    name(me, [people.doctor.address], offline=1)
    start(visitor, me.account)
    page = text(me.get("/recovery/guardians"))
    assert "Open requests for your key" in page and "Cancel this request" in page
    requester = requester_of(carechain, me.account)

    me.post("/recovery/cancel", {"requester": requester})

    page = text(me.get("/recovery/guardians"))
    assert "The request was cancelled" in page and "Open requests for your key" not in page
    trail = html.unescape(text(me.get("/patient/audit?show=recovery")))
    assert "for your key was cancelled" in trail


def test_the_pages_are_for_their_roles(as_user, people, visitor):
    admin = as_user(people.admin)
    for url in ("/recovery/guardians", "/recovery/requests"):
        assert admin.get(url).status_code == 302
        assert visitor.get(url).status_code == 302
    assert 'href="/recovery/requests"' in text(as_user(people.doctor).get("/doctor/"))


@FUZZ
@given(others=texts, offline=numbers, threshold=numbers)
def test_the_guardians_form_answers_anything_with_a_page(me, people, others, offline, threshold):
    answered(name(me, [people.doctor.address], others, offline, threshold))


@FUZZ
@given(patient=texts)
def test_the_recovery_start_answers_anything_with_a_page(visitor, patient):
    answered(visitor.post("/recovery/start", {"patient": patient}))


@pytest.fixture
def waiting(me, people, visitor):
    """A visitor whose request for `me`'s key is open."""
    name(me, [people.doctor.address], offline=1)
    start(visitor, me.account)
    return visitor


@FUZZ
@given(words=st.text(max_size=400), password=texts)
def test_the_recovery_form_answers_anything_with_a_page(waiting, words, password):
    response = waiting.post("/recovery/collect", {"words": words, "password": password, "confirm": password})
    answered(response)
    assert response.status_code == 400
