"""Property-based fuzzing of the form handlers with the real chain and IPFS node behind them:
whatever is posted, the answer is a page (stored, or refused with a message), never a server
error, and a refusal stores nothing."""

import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.helpers import text

FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
ANSWERS = {200, 302, 400, 403, 404, 413}
texts = st.text(max_size=80)
PNG = b"\x89PNG\r\n\x1a\n"
numbers = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(str), texts)


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def answered(response, carechain=None, account=None, records_before=None):
    assert response.status_code in ANSWERS, response.status_code
    assert "Something went wrong" not in text(response)
    if response.status_code != 302 and carechain is not None:
        assert carechain.participant(account.address).record_count == records_before  # refused: nothing stored


@FUZZ
@given(kind=st.sampled_from(["pulse", "spo2", "temperature", "glucose", "blood_pressure", "other"]),
       value=numbers, diastolic=numbers, measured_at=texts, shown_at=texts)
def test_vitals_form(me, carechain, kind, value, diastolic, measured_at, shown_at):
    before = carechain.participant(me.address).record_count
    response = me.post("/patient/records/new/vitals", {"kind": kind, "value": value, "diastolic": diastolic,
                                                       "measured_at": measured_at, "shown_at": shown_at},
                       prefix="vitals")
    answered(response, carechain, me.account, before)


@FUZZ
@given(title=texts, category=texts, name=st.text(max_size=30), data=st.binary(max_size=2048))
def test_document_form(me, carechain, title, category, name, data):
    before = carechain.participant(me.address).record_count
    response = me.post("/patient/records/new/document", {"title": title, "category": category,
                                                         "file": (io.BytesIO(data), name or "file")},
                       prefix="document")
    answered(response, carechain, me.account, before)


@FUZZ
@given(body=st.one_of(st.binary(max_size=1024), st.text(max_size=300).map(str.encode)))
def test_fhir_form(me, carechain, body):
    before = carechain.participant(me.address).record_count
    response = me.post("/patient/records/new/fhir", {"resource": (io.BytesIO(body), "r.json")}, prefix="fhir")
    answered(response, carechain, me.account, before)


@FUZZ
@given(provider=texts, categories=st.lists(texts, max_size=6), access=texts, days=numbers, until=texts)
def test_grant_form(me, provider, categories, access, days, until):
    answered(me.post("/patient/grants", {"provider": provider, "categories": categories, "access": access,
                                         "days": days, "until": until}))


@FUZZ
@given(grantee=st.text(min_size=1, max_size=50).filter(lambda s: "/" not in s), days=numbers, until=texts,
       action=st.sampled_from(["renew", "narrow", "revoke"]))
def test_grant_change_forms(me, grantee, days, until, action):
    answered(me.post(f"/patient/grants/{grantee}/{action}", {"days": days, "until": until, "categories": [days]},
                     prefix=grantee))


@FUZZ
@given(address=texts, password=texts)
def test_login_form(visitor, address, password):
    answered(visitor.post("/auth/login", {"address": address, "password": password}))


@FUZZ
@given(role=texts, name=texts, address=texts, public_key=texts, hospital=texts)
def test_provider_registration_form(as_user, people, role, name, address, public_key, hospital):
    admin = as_user(people.admin)
    answered(admin.post("/admin/providers", {"role": role, "name": name, "address": address,
                                             "public_key": public_key, "hospital": hospital}))


@FUZZ
@given(given_name=texts, family=texts, gender=st.sampled_from(["female", "male", "other", "x", ""]),
       birth_date=st.one_of(texts, st.dates(date(1880, 1, 1), date(2040, 1, 1)).map(date.isoformat)),
       phone=texts, email=texts, photo=st.one_of(st.binary(max_size=512), st.binary(max_size=64).map(PNG.__add__)),
       shown_at=texts)
def test_profile_form(me, carechain, given_name, family, birth_date, gender, phone, email, photo, shown_at):
    before = carechain.chain.call("profileOf", me.address)
    response = me.post("/patient/profile/", {"given": given_name, "family": family, "birth_date": birth_date,
                                             "gender": gender, "phone": phone, "email": email, "shown_at": shown_at,
                                             "photo": (io.BytesIO(photo), "me.png")})
    answered(response)
    if response.status_code != 302:
        assert carechain.chain.call("profileOf", me.address) == before  # refused: nothing changed


@FUZZ
@given(categories=st.lists(st.one_of(st.sampled_from("01234"), texts), max_size=4), access=texts, days=numbers,
       reason=st.text(max_size=1100))
def test_access_request_form(as_user, people, me, carechain, categories, access, days, reason):
    """A refused request sends nothing; one sent is withdrawn for the next example."""
    doctor = as_user(people.colleague)
    response = doctor.post("/doctor/requests", {"patient": me.address, "categories": categories, "access": access,
                                                "days": days, "reason": reason})
    answered(response)
    sent = carechain.request_between(me.address, people.colleague.address)
    assert (sent is not None and sent.outcome == "open") == (response.status_code == 302)
    if sent is not None and sent.outcome == "open":
        carechain.withdraw_request(people.colleague, me.address)


@FUZZ
@given(categories=st.lists(st.one_of(st.sampled_from("01234"), texts), max_size=4), access=texts, days=numbers,
       until=texts)
def test_request_approval_form(people, me, carechain, categories, access, days, until):
    """Answered with a page whatever is posted; a refused approval leaves the request open and grants nothing."""
    if carechain.request_between(me.address, people.colleague.address) is None or \
            carechain.request_between(me.address, people.colleague.address).outcome != "open":
        carechain.request_access(people.colleague, me.address, [0], False, 86400)
    response = me.post(f"/patient/requests/{people.colleague.address}/approve",
                       {"categories": categories, "access": access, "days": days, "until": until},
                       prefix=people.colleague.address)
    answered(response)
    approved = carechain.grant_of(me.address, people.colleague.address).expires_at != 0
    assert approved == (carechain.request_between(me.address, people.colleague.address).outcome == "approved")
    if approved:
        carechain.revoke(me.account, people.colleague.address, rotate=False)
