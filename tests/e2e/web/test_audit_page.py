"""The patient's audit page under a flood of reads, and names: a provider's name shows only once
the admin registered it, so signing up as "Dr. Alice Chen" lends nobody that name."""

import html
import json
import re

import pytest
from eth_account import Account
from flask import g

from app.accounts import Unlocked, display_name
from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, provider_entry
from app.carechain.errors import TransactionFailed
from app.carechain.audit import AuditEvent
from app.carechain.records import Category
from app.patient import _describe
from tests.e2e.helpers import days_from_now, pulse, text

OLDER = re.compile(r'href="(/patient/audit\?[^"]*before=[^"]+)">Older events')
FLOOD = 120


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def rows(page: str) -> list[str]:
    """The "What" cells of an audit page, top to bottom."""
    return [html.unescape(cell) for cell in re.findall(r'<td data-label="What">([^<]*)</td>', page)]


def all_pages(me, url: str) -> list[list[str]]:
    """The rows of `url` and of every older page its "Older events" links lead to."""
    pages = []
    while url:
        page = text(me.get(url))
        pages.append(rows(page))
        older = OLDER.search(page)
        url = html.unescape(older[1]) if older else None
    return pages


def test_a_flood_of_reads_hides_no_grant(me, people, carechain):
    entry = carechain.add_record(me.account, me.address, pulse(me.account))
    carechain.grant(me.account, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 2))
    carechain.read_record(people.doctor, me.address, entry.digest)  # verified, then logged
    for _ in range(FLOOD - 1):
        carechain.chain.transact(people.doctor, "logRead", me.address, entry.digest)  # the log of a read, again

    first = text(me.get("/patient/audit"))
    assert rows(first) == ["record #1 was read by Dr. Alice Chen"] * 100
    assert "Newest events" not in first and OLDER.search(first)

    grants = text(me.get("/patient/audit?show=grants"))
    assert [row.split(" until ")[0] for row in rows(grants)] == ["Dr. Alice Chen was granted read access to vitals records"]
    assert not OLDER.search(grants) and '<strong aria-current="page">Grants</strong>' in grants

    pages = all_pages(me, "/patient/audit")
    assert [len(page) for page in pages] == [100, FLOOD + 2 - 100]
    assert pages[1][-2:] == [rows(grants)[0], "record #1 (Vitals) was added"]
    last = text(me.get(html.unescape(OLDER.search(first)[1])))
    assert '<a href="/patient/audit">← Newest events</a>' in last

    assert [len(page) for page in all_pages(me, "/patient/audit?show=reads")] == [100, FLOOD - 100]
    assert all_pages(me, "/patient/audit?show=records") == [["record #1 (Vitals) was added"]]


def test_a_page_older_than_everything_says_so_and_a_malformed_cursor_shows_the_newest(me, carechain):
    carechain.add_record(me.account, me.address, pulse(me.account))
    assert "No older events." in text(me.get("/patient/audit?before=0-0"))
    for url in ("/patient/audit?before=yesterday", "/patient/audit?show=logins&before=1-"):
        assert rows(text(me.get(url))) == ["record #1 (Vitals) was added"]


def test_a_sign_up_named_dr_alice_chen_lends_nobody_that_name(app, visitor, as_user, me, people, carechain, stack):
    visitor.post("/auth/signup", {"kind": "doctor", "name": "Dr. Alice Chen", "password": "impostor password",
                                  "confirm": "impostor password"})
    impostor_address = text(visitor.get("/auth/welcome")).split('id="address">')[1].split("<")[0]
    short = f"{impostor_address[:6]}…{impostor_address[-4:]}"
    with app.test_request_context():
        assert display_name(impostor_address) == short
        assert display_name(people.doctor.address) == "Dr. Alice Chen"

    entry = carechain.add_record(me.account, me.address, pulse(me.account))
    impostor = app.extensions["keyring"].get(_token(visitor)).account
    carechain.fund(people.admin, impostor.address, 1)
    try:  # contracts before the read-log check accepted anyone's read
        carechain.chain.transact(impostor, "logRead", me.address, entry.digest)
    except TransactionFailed:
        pass
    for url in ("/patient/", "/patient/audit", "/patient/audit?show=reads"):
        assert "Dr. Alice Chen" not in text(me.get(url))
    assert impostor_address not in text(me.get("/patient/grants"))  # not a provider one could grant
    if any(event.actor == impostor_address for event in carechain.audit_trail(me.address, kinds=["reads"])):
        assert f"record #1 was read by {short} (not a registered provider)" in rows(text(me.get("/patient/audit")))

    admin_page = text(as_user(people.admin).get("/admin/"))
    assert "<strong>Dr. Alice Chen</strong> (requested name; doctor)" in admin_page


def test_a_read_logged_by_an_unregistered_account_is_shown_by_its_address(app, patient):
    """What older deployments, which logged anyone's reads, may hold."""
    stranger = Account.create().address
    read = AuditEvent(time=0, block=1, log_index=0, kind="read", actor=stranger, actor_role="none",
                      details={"reader": stranger, "digest": "ab"})
    with app.test_request_context():
        g.user = Unlocked(patient, 0)
        assert _describe(read, {"ab": 3}) == (
            f"record #3 was read by {stranger[:6]}…{stranger[-4:]} (not a registered provider)")


def test_the_directory_names_only_registered_providers(tmp_path, people):
    directory = ProviderDirectory(tmp_path / "providers.json")
    account = people.colleague
    request = provider_entry(account.address, "Dr. Bob Okafor", "doctor", crypto.public_key_of(account.key))
    directory.add(request)
    assert directory.name_of(account.address) is None and directory.requests() == [request]
    directory.file_registered(request)
    assert directory.name_of(account.address) == "Dr. Bob Okafor" and directory.requests() == []

    # A file from before registrations were marked: its entries are requests.
    old = tmp_path / "old.json"
    old.write_text(json.dumps({account.address: {"address": account.address, "name": "Dr. Bob Okafor",
                                                 "role": "doctor", "public_key": request.public_key}}))
    assert ProviderDirectory(old).name_of(account.address) is None


def _token(visitor):
    with visitor.client.session_transaction() as session:
        return session["token"]


def test_requests_for_access_and_their_answers_are_in_the_grants_trail(me, people, carechain):
    """Made on chain directly, as any provider could with its own tools."""
    week, reason = 7 * 86400, bytes(32)
    carechain.chain.transact(people.doctor, "requestAccess", me.address, 0b101, True, week, reason)
    carechain.chain.transact(me.account, "declineRequest", people.doctor.address)
    carechain.chain.transact(people.colleague, "requestAccess", me.address, 0b1, False, 86400, reason)
    carechain.chain.transact(people.colleague, "withdrawRequest", me.address)
    carechain.chain.transact(people.doctor, "requestAccess", me.address, 0b1, False, week, reason)
    carechain.chain.transact(me.account, "approveRequest", people.doctor.address, 0b1, False,
                             days_from_now(carechain, 3), reason)
    grants = rows(text(me.get("/patient/audit?show=grants")))
    assert [row.split(" until ")[0] for row in grants] == [
        "Dr. Alice Chen's request for access was approved",
        "Dr. Alice Chen was granted read access to vitals records",
        "Dr. Alice Chen asked for read access to vitals records for 7 days",
        "Dr. Bob Okafor withdrew their request for access",
        "Dr. Bob Okafor asked for read access to vitals records for 1 day",
        "Dr. Alice Chen's request for access was declined",
        "Dr. Alice Chen asked for read and add access to vitals, conditions records for 7 days",
    ]
