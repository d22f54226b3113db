"""The patient's pages under double submits and a hostile write grantee, revocation that says
who can still read, re-encryption that can be finished from the page, and refusals in words."""

import dataclasses
import hashlib
import io
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import create_app
from app.carechain.records import Category
from tests.e2e.helpers import User, days_from_now, pulse, text


def at_once(calls):
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def tabs(as_user, account, count=2):
    """Several logged-in sessions of one account, as browser tabs or a double click give."""
    return [as_user(account) for _ in range(count)]


def test_a_record_form_sent_twice_at_once_stores_one_record(as_user, carechain, patient):
    shown_at = str(int(time.time()))
    form = {"kind": "pulse", "value": "77", "shown_at": shown_at}
    responses = at_once([lambda tab=tab: tab.post("/patient/records/new/vitals", form, prefix="vitals")
                         for tab in tabs(as_user, patient)])

    assert [r.status_code for r in responses] == [302, 302]
    (entry,) = carechain.all_records(patient.address)
    assert carechain.store.is_pinned(entry.digest)


def test_a_grant_form_sent_twice_at_once_keeps_the_grant_and_its_keys(as_user, carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    form = {"provider": people.doctor.address, "categories": ["0"], "access": "read", "days": "3"}
    responses = at_once([lambda tab=tab: tab.post("/patient/grants", form) for tab in tabs(as_user, patient)])

    assert sorted(r.status_code for r in responses) == [302, 400]
    refused = next(text(r) for r in responses if r.status_code == 400)
    assert "already has access" in refused and "Traceback" not in refused
    (granted,) = carechain.chain.events("AccessGranted", patient=patient.address)
    assert carechain.store.is_pinned(bytes(granted["args"]["keyBundle"]))
    assert carechain.read_record(people.doctor, patient.address, entry.digest)


def test_revoking_a_doctor_says_their_hospitals_grant_still_covers_them(as_user, carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 3))
    carechain.grant(patient, people.hospital.address, [Category.LABS], False, days_from_now(carechain, 3))
    me = as_user(patient)
    prefix = people.doctor.address
    page = text(me.post(f"/patient/grants/{prefix}/revoke", {"rotate": "y"}, prefix=prefix, follow_redirects=True))

    assert "can no longer read your records" not in page
    assert "Dr. Alice Chen can still read some of your records through St. Mary&#39;s Hospital&#39;s grant (labs)" in page


def test_revoking_a_hospital_names_its_doctors_own_grants(as_user, carechain, people, patient):
    carechain.grant(patient, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 3))
    carechain.grant(patient, people.colleague.address, [Category.LABS], False, days_from_now(carechain, 3))
    prefix = people.hospital.address
    page = text(as_user(patient).post(f"/patient/grants/{prefix}/revoke", {"rotate": "y"}, prefix=prefix,
                                      follow_redirects=True))
    assert "doctors of St. Mary&#39;s Hospital keep grants of their own: Dr. Bob Okafor&#39;s grant (labs)" in page


def test_rotation_is_the_default_on_revoke(as_user, carechain, people, patient):
    carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 3))
    page = text(as_user(patient).get(f"/patient/grants/{people.doctor.address}/change"))
    (checkbox,) = re.findall(rf'<input[^>]*name="{people.doctor.address}-rotate"[^>]*>', page)
    assert "checked" in checkbox


@pytest.fixture
def junk(carechain, people, patient):
    """Entries a hostile doctor with a write grant indexed: random digests, a non-record object."""
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    digests = [hashlib.sha256(os.urandom(8)).digest() for _ in range(3)] + [carechain.store.put(b"not a record")]
    for digest in digests:
        carechain.chain.transact(people.doctor, "addRecord", patient.address, digest, int(Category.VITALS))
    return digests


def test_the_dashboard_marks_junk_at_once_and_the_patient_hides_it(as_user, carechain, people, patient, junk):
    real = carechain.add_record(patient, patient.address, pulse(patient, 70))
    me = as_user(patient)
    started = time.monotonic()
    page = text(me.get("/patient/"))
    assert time.monotonic() - started < 5
    assert page.count('class="badge bad failed"') == 4 and "Heart rate: 70" in page

    hidden = me.post(f"/patient/records/{junk[0].hex()}/dispute", {"disputed": "yes"}, follow_redirects=True)
    assert "marked as disputed and hidden" in text(hidden) and "1 disputed entry on this page hidden" in text(hidden)
    assert text(hidden).count('class="badge bad failed"') == 3
    assert carechain.record(patient.address, junk[0]).disputed
    assert carechain.record(patient.address, real.digest).disputed is False
    doctors_list = text(as_user(people.doctor).get(f"/doctor/patients/{patient.address}"))
    assert doctors_list.count("disputed by the patient") == 1


def test_granting_with_junk_in_the_index_works_and_says_what_was_skipped(as_user, carechain, people, patient, junk):
    carechain.add_record(patient, patient.address, pulse(patient, 70))
    form = {"provider": people.colleague.address, "categories": ["0"], "access": "read", "days": "3"}
    page = text(as_user(patient).post("/patient/grants", form, follow_redirects=True))
    assert "4 entries of your index could not be read" in page
    assert carechain.grant_of(patient.address, people.colleague.address).expires_at > 0


def test_an_interrupted_rotation_is_finished_from_the_grants_page(as_user, carechain, services, people, patient):
    carechain.add_record(patient, patient.address, pulse(patient, 70))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 3))
    me = as_user(patient)
    prefix = people.doctor.address
    services.stop_ipfs()
    try:
        me.post(f"/patient/grants/{prefix}/revoke", {"rotate": "y"}, prefix=prefix)
    finally:
        services.start_ipfs()
    page = text(me.get("/patient/grants"))
    assert "did not finish" in page and "revoking Dr. Alice Chen" in page

    done = text(me.post("/patient/rotation", {}, follow_redirects=True))
    assert "Re-encryption finished. 1 record re-encrypted under new keys" in done and "did not finish" not in done


def test_a_lapsed_grant_offers_re_encryption(as_user, carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient, 70))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    carechain.chain.w3.provider.make_request("evm_increaseTime", [2 * 86400])
    carechain.chain.w3.provider.make_request("evm_mine", [])
    me = as_user(patient)
    assert "Re-encrypt what they could read" in text(me.get("/patient/grants"))

    done = text(me.post(f"/patient/grants/{people.doctor.address}/rotate", {}, follow_redirects=True))
    assert "1 record re-encrypted" in done
    assert carechain.record(patient.address, entry.digest).superseded_by


def test_narrowing_re_encrypts_the_categories_dropped(as_user, carechain, people, patient):
    vitals = carechain.add_record(patient, patient.address, pulse(patient, 70))
    carechain.grant(patient, people.doctor.address, [Category.VITALS, Category.LABS], False,
                    days_from_now(carechain, 3))
    prefix = people.doctor.address
    page = text(as_user(patient).post(f"/patient/grants/{prefix}/narrow",
                                      {"categories": ["1"], "access": "read", "rotate_dropped": "y"}, prefix=prefix,
                                      follow_redirects=True))
    assert "1 record re-encrypted" in page
    assert carechain.record(patient.address, vitals.digest).superseded_by


def test_deeply_nested_fhir_is_refused_in_words(as_user, carechain, patient):
    nested = '{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "extension": ' \
             + "[" * 20000 + "]" * 20000 + "}"
    response = as_user(patient).post("/patient/records/new/fhir", {"resource": (io.BytesIO(nested.encode()), "o.json")},
                                     prefix="fhir")
    assert response.status_code == 400 and "nested more than 64 levels deep" in text(response)
    assert carechain.participant(patient.address).record_count == 0


def test_the_storage_quota_refuses_with_a_clear_message(stack, people, new_patient):
    patient = new_patient()
    app = create_app({"TESTING": True, "CARECHAIN": dataclasses.replace(stack[1], storage_quota=6000)})
    me = User(app, patient)
    first = me.post("/patient/records/new/vitals", {"kind": "pulse", "value": "70"}, prefix="vitals")
    assert first.status_code == 302
    letter = b"%PDF-1.4\n" + b"x" * 8000
    response = me.post("/patient/records/new/document", {"title": "Letter", "category": "4",
                                                         "file": (io.BytesIO(letter), "l.pdf")}, prefix="document")
    assert response.status_code == 400 and "storage is full" in text(response) and "Nothing was stored" in text(response)


def test_the_admin_is_the_contracts_owner_not_the_deployer(app, carechain, people, new_patient):
    successor = new_patient()  # any account can be handed the role
    carechain.chain.transact(people.admin, "transferOwnership", successor.address)
    carechain.chain.transact(successor, "acceptOwnership")
    try:
        assert "Providers" in text(User(app, successor).get("/admin/", follow_redirects=True))
        assert User(app, people.admin).get("/admin/").status_code == 302
    finally:
        carechain.chain.transact(successor, "transferOwnership", people.admin.address)
        carechain.chain.transact(people.admin, "acceptOwnership")
