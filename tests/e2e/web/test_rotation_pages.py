"""After a revocation with re-encryption the patient's pages show each record once, under the number
it had before, with its history one click away; the audit trail says why records were re-encrypted
and never that they were added; the doctor's list keeps the numbers too."""

import re

import pytest

from app import patient as patient_pages
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse, text

ROW_NUMBER = re.compile(r'<td data-label="#">(\d+)</td>')
HISTORY_LINK = re.compile(r'href="(/patient/records/[0-9a-f]{64}/history)"')
CSRF_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="[^"]+"')  # signed with the second it was made


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def revoke_with_rotation(me, grantee) -> str:
    return text(me.post(f"/patient/grants/{grantee}/revoke", {"rotate": "y"}, prefix=grantee, follow_redirects=True))


def listed(page: str) -> list[int]:
    return [int(number) for number in ROW_NUMBER.findall(page)]


def test_after_a_rotation_each_record_is_listed_once_under_its_old_number(me, people, carechain):
    for value in (61, 62, 63):
        carechain.add_record(me.account, me.address, pulse(me.account, value))
    carechain.grant(me.account, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    before = text(me.get("/patient/"))
    assert listed(before) == [3, 2, 1] and "history" not in before

    assert "3 records re-encrypted under new keys" in revoke_with_rotation(me, people.doctor.address)

    after = text(me.get("/patient/"))
    assert listed(after) == [3, 2, 1]
    for value in (61, 62, 63):
        assert after.count(f"Heart rate: {value} beats/minute") == 1
    assert len(HISTORY_LINK.findall(after)) == 3 and "replaced" not in after and "newer version" not in after


def test_the_history_page_lists_every_version_and_why(me, people, carechain):
    entry = carechain.add_record(me.account, me.address, pulse(me.account, 64))
    carechain.grant(me.account, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    revoke_with_rotation(me, people.doctor.address)
    (current,) = carechain.current_records(me.address).entries

    record_page = text(me.get(f"/patient/records/{current.digest.hex()}"))
    assert "Record #1" in record_page and f"/patient/records/{current.digest.hex()}/history" in record_page
    (link,) = HISTORY_LINK.findall(text(me.get("/patient/")))
    history = text(me.get(link))
    assert "History of record #1" in history
    assert "first version" in history and "re-encrypted after revoking Dr. Alice Chen" in history
    assert f"entry #{entry.number}" in history and f"entry #{current.number}" in history
    assert history.count('class="badge ok">current') == 1
    from_first = text(me.get(f"/patient/records/{entry.digest.hex()}/history"))  # from any version
    assert CSRF_TOKEN.sub("", from_first) == CSRF_TOKEN.sub("", history)
    assert me.get(f"/patient/records/{'ab' * 32}/history").status_code == 404
    # A record never changed has no history link on its page.
    fresh = carechain.add_record(me.account, me.address, pulse(me.account, 65))
    assert "/history" not in text(me.get(f"/patient/records/{fresh.digest.hex()}"))


def test_the_history_is_the_patients_own(as_user, people, carechain, patient, new_patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient, 64))
    stranger = new_patient()
    assert as_user(stranger).get(f"/patient/records/{entry.digest.hex()}/history").status_code == 404
    doctor_page = as_user(people.doctor).get(f"/patient/records/{entry.digest.hex()}/history")
    assert doctor_page.status_code == 302  # not a doctor's page: sent home


def test_the_audit_trail_says_re_encrypted_after_revoking_never_added(me, people, carechain):
    for value in (61, 62):
        carechain.add_record(me.account, me.address, pulse(me.account, value))
    carechain.grant(me.account, people.doctor.address, [Category.VITALS, Category.LABS], False,
                    days_from_now(carechain, 5))
    expires_at = carechain.grant_of(me.address, people.doctor.address).expires_at  # narrowing may not extend it
    carechain.narrow(me.account, people.doctor.address, [Category.LABS], False, expires_at, rotate=True)
    revoke_with_rotation(me, people.doctor.address)  # labs only: nothing more to re-encrypt

    for url in ("/patient/audit", "/patient/audit?show=records"):
        audit = text(me.get(url))
        assert audit.count("was added") == 2
        assert "record #1 was re-encrypted after narrowing Dr. Alice Chen&#39;s grant" in audit
        assert "record #2 was re-encrypted after narrowing Dr. Alice Chen&#39;s grant" in audit
        assert "record #3" not in audit and "record #4" not in audit
    assert "re-encrypted" not in text(me.get("/patient/audit?show=grants"))


def test_a_lapsed_grants_re_encryption_says_so(me, people, carechain):
    carechain.add_record(me.account, me.address, pulse(me.account, 61))
    carechain.grant(me.account, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    carechain.chain.w3.provider.make_request("evm_increaseTime", [2 * 86400])
    carechain.chain.w3.provider.make_request("evm_mine", [])
    me.post(f"/patient/grants/{people.doctor.address}/rotate", {})
    assert "record #1 was re-encrypted after the lapsed grant of Dr. Alice Chen" in text(me.get("/patient/audit"))


def test_paging_counts_records_not_versions(me, people, carechain, monkeypatch):
    for value in range(61, 66):
        carechain.add_record(me.account, me.address, pulse(me.account, value))
    carechain.grant(me.account, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    revoke_with_rotation(me, people.doctor.address)
    carechain.add_record(me.account, me.address, pulse(me.account, 70))  # the chain's 11th entry: record #11
    monkeypatch.setattr(patient_pages, "PAGE_SIZE", 4)

    first, second = text(me.get("/patient/")), text(me.get("/patient/?page=2"))
    assert listed(first) == [11, 5, 4, 3] and listed(second) == [2, 1]
    assert "Page 1 of 2 (6 records)" in first and "Page 2 of 2 (6 records)" in second
    assert listed(text(me.get("/patient/?page=9"))) == [2, 1]


def test_a_disputed_record_stays_hidden_after_a_rotation(me, people, carechain):
    carechain.grant(me.account, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    written = carechain.add_record(people.doctor, me.address, pulse(me.account, 99))
    carechain.add_record(me.account, me.address, pulse(me.account, 61))
    flashed = text(me.post(f"/patient/records/{written.digest.hex()}/dispute", {"disputed": "yes"},
                           follow_redirects=True))
    assert "Record #1 is marked as disputed" in flashed

    carechain.grant(me.account, people.colleague.address, [Category.VITALS], False, days_from_now(carechain, 5))
    revoke_with_rotation(me, people.colleague.address)  # re-encrypts the disputed record too

    page = text(me.get("/patient/"))
    assert listed(page) == [2] and "1 disputed entry on this page hidden" in page and "Show disputed entries" in page
    shown = text(me.get("/patient/?disputed=shown"))
    assert listed(shown) == [2, 1] and shown.count("Withdraw dispute") == 1


def test_the_doctors_list_keeps_the_numbers(as_user, me, people, carechain):
    for value in (61, 62):
        carechain.add_record(me.account, me.address, pulse(me.account, value))
    carechain.grant(me.account, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    carechain.grant(me.account, people.colleague.address, [Category.VITALS], False, days_from_now(carechain, 5))
    revoke_with_rotation(me, people.colleague.address)

    doctors_list = text(as_user(people.doctor).get(f"/doctor/patients/{me.address}"))
    assert listed(doctors_list) == [2, 1]
    assert doctors_list.count("Heart rate: 61 beats/minute") == 1 and doctors_list.count("Heart rate: 62") == 1
