"""After login the app follows `next` only to a page of its own: never to another host, whatever
a browser would make of the target (it drops tabs and newlines and reads a backslash as a slash),
and never a server error."""

import pytest

from app.carechain.keystore import Keystore

PASSWORD = "correct horse battery"

REFUSED = [  # the query string as an attacker writes it in a link
    "next=/%09/evil.example",  # a tab: browsers make it //evil.example
    "next=/%0a/evil.example",  # a newline: same, and a raw newline in a header
    "next=/%0a/x",
    "next=/%0d%0a/x",
    "next=/%00/x",
    "next=/%20/evil.example",
    "next=/%E2%80%8B/evil.example",  # a zero-width space
    "next=/%5Cevil.example",  # /\evil.example
    "next=/%5C/evil.example",
    "next=https://evil.example",
    "next=https:/evil.example",
    "next=//evil.example",
    "next=///evil.example",
    "next=javascript:alert(1)",
    "next=evil.example",
]


@pytest.fixture(scope="module")
def account(stack):
    return Keystore(stack[1].keystores).create(PASSWORD)


def log_in(visitor, account, query):
    return visitor.post(f"/auth/login?{query}", {"address": account.address, "password": PASSWORD})


@pytest.mark.parametrize("query", REFUSED)
def test_a_target_that_could_lead_off_site_is_replaced_by_the_home_page(visitor, account, query):
    response = log_in(visitor, account, query)
    assert response.status_code == 302 and response.location == "/auth/", response.location


def test_a_literal_tab_in_the_target_is_refused_too(visitor, account):
    response = visitor.post("/auth/login", {"address": account.address, "password": PASSWORD},
                            query_string={"next": "/\t/evil.example"})
    assert response.status_code == 302 and response.location == "/auth/"


def test_a_local_page_with_its_query_is_followed(visitor, account):
    response = log_in(visitor, account, "next=/ok/path%3Fx%3D1")
    assert response.status_code == 302 and response.location == "/ok/path?x=1"
    assert log_in(visitor, account, "next=/patient/").location == "/patient/"
