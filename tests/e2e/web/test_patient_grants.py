"""A patient's access pages: giving, renewing and revoking grants, and the audit trail."""

import re
from datetime import datetime, timezone

import pytest

from tests.e2e.helpers import days_from_now, pulse, text


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def grant(me, provider, days="7", categories=("0",), access="read", until=""):
    return me.post("/patient/grants", {"provider": provider.address, "categories": list(categories),
                                       "access": access, "days": days, "until": until})


def test_the_grant_form_offers_registered_providers_by_name(me):
    page = text(me.get("/patient/grants"))
    assert "Dr. Alice Chen (doctor, St. Mary&#39;s Hospital)" in page and "Riverside Clinic (hospital)" in page
    assert "Nobody has access to your records now" in page


def test_a_grant_for_a_period_is_listed_with_its_time_left(me, people, carechain):
    response = grant(me, people.doctor, days="7", categories=("0", "1"), access="write")
    assert response.status_code == 302
    view = carechain.grant_of(me.address, people.doctor.address)
    assert view.can_write and [c.label for c in view.categories] == ["Vitals", "Labs"]
    assert abs(view.expires_at - days_from_now(carechain, 7)) < 60
    page = text(me.get("/patient/grants"))
    assert "Dr. Alice Chen" in page and re.search(r"(7 days|6 days 23 h) left", page) and "read and add records" in page


def test_the_grant_form_starts_on_a_placeholder_that_is_refused(me, carechain):
    select = text(me.get("/patient/grants")).split('<select id="provider"')[1].split("</select>")[0]
    options = select.split("<option")[1:]
    assert options[0].startswith(' selected value="">Choose a doctor or hospital…')
    assert not any("selected" in option for option in options[1:])
    for provider in ({"provider": ""}, {}):  # the placeholder chosen, or no choice sent at all
        response = me.post("/patient/grants", {**provider, "categories": ["0"], "access": "read", "days": "7"})
        assert response.status_code == 400 and "Choose a doctor or hospital." in text(response)
    assert carechain.grants_of(me.address) == []


@pytest.mark.parametrize("fields, message", [
    ({"days": "", "until": ""}, "give either a number of days or an end date"),
    ({"days": "3", "until": "2030-01-01"}, "give either a number of days or an end date"),
    ({"days": "0"}, "Number must be between 1 and 3650"),
    ({"days": "99999"}, "Number must be between 1 and 3650"),
    ({"days": "", "until": "2001-01-01"}, "the end date must be in the future"),
    ({"days": "", "until": "2999-01-01"}, "at most ten years"),
    ({"categories": ()}, "Choose at least one category"),
])
def test_bad_grants_are_refused_and_change_nothing(me, people, carechain, fields, message):
    response = grant(me, people.doctor, **fields)
    assert response.status_code == 400 and message.lower() in text(response).lower()
    assert carechain.grant_of(me.address, people.doctor.address).expires_at == 0


def test_an_unknown_provider_or_a_patient_cannot_be_granted(me, carechain, new_patient):
    stranger = new_patient()
    response = me.post("/patient/grants", {"provider": stranger.address, "categories": ["0"], "access": "read",
                                           "days": "3"})
    assert response.status_code == 400 and "Not a valid choice" in text(response)
    assert carechain.grant_of(me.address, stranger.address).expires_at == 0


def test_granting_twice_explains_what_to_do(me, people):
    grant(me, people.doctor)
    response = grant(me, people.doctor)
    assert response.status_code == 400 and "already has access: renew, narrow or revoke" in text(response)


def test_renew_then_revoke_with_key_rotation(me, people, carechain):
    carechain.add_record(me.account, me.address, pulse(me.account))
    grant(me, people.doctor, days="2")
    prefix = people.doctor.address
    renewed = me.post(f"/patient/grants/{prefix}/renew", {"days": "30"}, prefix=prefix, follow_redirects=True)
    assert "access now lasts until" in text(renewed)
    assert carechain.grant_of(me.address, prefix).expires_at > days_from_now(carechain, 29)

    revoked = me.post(f"/patient/grants/{prefix}/revoke", {"rotate": "y"}, prefix=prefix, follow_redirects=True)
    assert "can no longer read your records. 1 record re-encrypted under new keys" in text(revoked)
    assert carechain.grant_of(me.address, prefix).expires_at == 0
    assert carechain.records(me.address)[0].superseded_by == 2
    assert "Dr. Alice Chen" not in text(me.get("/patient/grants")).split("Give access")[0]


def test_a_grant_posted_without_the_csrf_token_is_refused(me, people, carechain):
    response = me.post("/patient/grants", {"provider": people.doctor.address, "categories": ["0"],
                                           "access": "read", "days": "3"}, csrf=False)
    assert response.status_code == 400 and "sent from another site" in text(response)
    assert carechain.grant_of(me.address, people.doctor.address).expires_at == 0


def test_the_audit_trail_shows_grants_records_reads_and_revocations(me, people, carechain):
    entry = carechain.add_record(me.account, me.address, pulse(me.account))
    grant(me, people.doctor, days="3")
    carechain.read_record(people.doctor, me.address, entry.digest)
    me.post(f"/patient/grants/{people.doctor.address}/revoke", {}, prefix=people.doctor.address)
    page = text(me.get("/patient/audit"))
    lines = ["access was revoked", "record #1 was read", "was granted read access to vitals", "#1 (Vitals) was added"]
    positions = [page.index(line) for line in lines]
    assert positions == sorted(positions)  # newest first
    assert "Dr. Alice Chen&#39;s access was revoked" in page


def test_a_grant_is_narrowed_but_never_widened(me, people, carechain):
    grant(me, people.doctor, categories=("0", "1"), access="write")
    prefix = people.doctor.address
    narrowed = me.post(f"/patient/grants/{prefix}/narrow", {"categories": ["0"], "access": "read"}, prefix=prefix,
                       follow_redirects=True)
    assert "may now read your vitals records" in text(narrowed)
    view = carechain.grant_of(me.address, prefix)
    assert [c.label for c in view.categories] == ["Vitals"] and not view.can_write
    widened = me.post(f"/patient/grants/{prefix}/narrow", {"categories": ["0", "2"], "access": "read"}, prefix=prefix,
                      follow_redirects=True)
    assert "Not narrowed: a grant can only be narrowed" in text(widened)
    emptied = me.post(f"/patient/grants/{prefix}/narrow", {"access": "read"}, prefix=prefix, follow_redirects=True)
    assert "Keep at least one category, or revoke instead" in text(emptied)
    assert [c.label for c in carechain.grant_of(me.address, prefix).categories] == ["Vitals"]


def test_an_end_date_is_the_end_of_that_day_in_the_zone_the_page_showed(me, people, carechain):
    """localtime.js sends the zone with the form; without it (no JavaScript) pages show UTC."""
    next_year = datetime.now(timezone.utc).year + 1
    for zone, offset in (("Asia/Kolkata", 5.5 * 3600), ("", 0)):
        me.post("/patient/grants", {"provider": people.doctor.address, "categories": ["0"], "access": "read",
                                    "days": "", "until": f"{next_year}-03-01", "time_zone": zone})
        end = datetime(next_year, 3, 1, 23, 59, 59, tzinfo=timezone.utc).timestamp() - offset
        assert carechain.grant_of(me.address, people.doctor.address).expires_at == end
        carechain.revoke(me.account, people.doctor.address, rotate=False)


def test_each_grant_is_changed_from_a_page_of_its_own(me, people, carechain):
    carechain.grant(me.account, people.doctor.address, [0, 1], True, days_from_now(carechain, 3))
    listing = text(me.get("/patient/grants"))
    assert f"/patient/grants/{people.doctor.address}/change" in listing and "-days" not in listing  # no forms per grant
    page = text(me.get(f"/patient/grants/{people.doctor.address}/change"))
    for action in ("renew", "narrow", "revoke"):
        assert f"/patient/grants/{people.doctor.address}/{action}" in page
    assert re.search(rf'name="{people.doctor.address}-categories"[^>]*value="1"[^>]*checked|'
                     rf'checked[^>]*name="{people.doctor.address}-categories"[^>]*value="1"', page)
    assert me.get("/patient/grants/not-an-address/change").status_code == 404
    missing = me.get(f"/patient/grants/{people.colleague.address}/change", follow_redirects=True)
    assert "There is no grant for this provider" in text(missing)
