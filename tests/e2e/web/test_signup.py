"""Signing up: a key pair in an encrypted keystore, its backup, and registration on chain."""

import json

from eth_account import Account

from app.carechain.directory import ProviderDirectory
from tests.e2e.helpers import text

PASSWORD = "correct horse battery"


def sign_up(visitor, kind="patient", name="", password=PASSWORD, confirm=None):
    return visitor.post("/auth/signup", {"kind": kind, "name": name, "password": password,
                                         "confirm": password if confirm is None else confirm})


def test_a_patient_signs_up_backs_up_the_key_and_is_registered_on_chain(visitor, carechain, stack):
    response = sign_up(visitor)
    assert response.status_code == 302 and response.location.endswith("/auth/welcome")
    page = text(visitor.get("/auth/welcome"))
    address = page.split('id="address">')[1].split("<")[0]
    assert carechain.participant(address) is None

    keystore = visitor.get("/auth/keystore")
    assert keystore.headers["Content-Disposition"].startswith("attachment")
    stored = json.loads(keystore.data)
    assert "crypto" in stored and Account.decrypt(stored, PASSWORD)  # encrypted, and opens with the password

    refused = visitor.post("/auth/welcome", {})
    assert refused.status_code == 400 and "tick the box" in text(refused)
    assert carechain.participant(address) is None

    registered = visitor.post("/auth/welcome", {"saved": "y"}, follow_redirects=True)
    assert "You are registered as a patient" in text(registered) and "mined in block" in text(registered)
    assert carechain.participant(address).role == "patient"
    assert visitor.get("/auth/").location.endswith("/patient/")

    again = visitor.post("/auth/welcome", {"saved": "y"}, follow_redirects=True)  # sent twice, say
    assert again.status_code == 200 and "You are already registered" in text(again)
    assert "<h1>My records</h1>" in text(again)


def test_passwords_that_are_short_or_differ_are_refused_and_create_nothing(visitor, stack):
    keystores = stack[1].keystores
    before = set(keystores.glob("*.json")) if keystores.exists() else set()
    short = sign_up(visitor, password="short")
    assert short.status_code == 400 and "at least 8 characters" in text(short)
    differ = sign_up(visitor, confirm="another password")
    assert differ.status_code == 400 and "The two passwords differ" in text(differ)
    assert (set(keystores.glob("*.json")) if keystores.exists() else set()) == before


def test_a_doctor_signs_up_with_a_name_and_waits_for_the_administrator(visitor, stack, carechain):
    nameless = sign_up(visitor, kind="doctor")
    assert nameless.status_code == 400 and "give the name" in text(nameless)

    sign_up(visitor, kind="doctor", name="Dr. Dana Scully")
    page = text(visitor.get("/auth/welcome"))
    address = page.split('id="address">')[1].split("<")[0]
    assert "public encryption key" in page and "administrator registers" in page
    request = ProviderDirectory(stack[1].directory).get(address)
    assert (request.name, request.role) == ("Dr. Dana Scully", "doctor")

    done = visitor.post("/auth/welcome", {"saved": "y"}, follow_redirects=True)
    assert "The administrator will register you" in text(done)
    assert carechain.participant(address) is None
