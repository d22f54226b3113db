"""Logging in and out, the idle timeout, importing keys, and the session cookie."""

import io
import json
import time

from eth_account import Account

from app.carechain.keystore import Keystore
from tests.e2e.helpers import text

PASSWORD = "correct horse battery"


def keystore_account(stack):
    return Keystore(stack[1].keystores).create(PASSWORD)


def test_log_in_with_address_and_password_then_log_out_forgets_the_key(visitor, stack, app):
    account = keystore_account(stack)
    response = visitor.post("/auth/login", {"address": account.address, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert account.address in text(visitor.get("/auth/welcome"))
    held = len(app.extensions["keyring"])

    assert visitor.post("/auth/logout", csrf=False).status_code == 400  # no token: still logged in
    assert visitor.get("/auth/welcome").status_code == 200

    visitor.post("/auth/logout")
    assert len(app.extensions["keyring"]) == held - 1
    assert "/auth/login" in visitor.get("/auth/welcome").location


def test_wrong_password_unknown_account_and_bad_addresses_are_refused(visitor, stack):
    account = keystore_account(stack)
    cases = [
        (account.address, "wrong password", "No account with this name or address and this password"),
        (Account.create().address, PASSWORD, "No account with this name or address and this password"),
        ("0x1234", PASSWORD, "is not a valid address"),
        (account.address[:2] + account.address[2:].swapcase(), PASSWORD, "wrong checksum"),
    ]
    for address, password, message in cases:
        response = visitor.post("/auth/login", {"address": address, "password": password})
        assert response.status_code == 400 and message in text(response), address
    assert "/auth/login" in visitor.get("/auth/welcome").location


def test_an_idle_session_is_forgotten(visitor, stack, app):
    account = keystore_account(stack)
    visitor.post("/auth/login", {"address": account.address, "password": PASSWORD})
    app.extensions["keyring"].idle_timeout = 0.05
    try:
        time.sleep(0.1)
        response = visitor.get("/auth/welcome", follow_redirects=True)
    finally:
        app.extensions["keyring"].idle_timeout = app.config["IDLE_TIMEOUT"]
    assert "Your session ended" in text(response) and "Log in" in text(response)
    assert visitor.get("/auth/welcome").status_code == 302


def test_import_a_private_key_or_a_keystore_file(visitor, app):
    account = Account.create()
    bad = visitor.post("/auth/import/key", {"private_key": "not a key", "password": PASSWORD, "confirm": PASSWORD},
                       prefix="key")
    assert bad.status_code == 400 and "not a private key" in text(bad)
    imported = visitor.post("/auth/import/key", {"private_key": account.key.hex(), "password": PASSWORD,
                                                  "confirm": PASSWORD}, prefix="key", follow_redirects=True)
    assert f"Account {account.address} imported" in text(imported)

    other = Account.create()
    keystore = Account.encrypt(other.key, PASSWORD)
    wrong = visitor.post("/auth/import/keystore", {"keystore": (io.BytesIO(json.dumps(keystore).encode()), "k.json"),
                                                    "password": "not the password"}, prefix="file")
    assert wrong.status_code == 400 and "wrong password" in text(wrong)
    junk = visitor.post("/auth/import/keystore", {"keystore": (io.BytesIO(b"\x00junk"), "k.json"),
                                                   "password": PASSWORD}, prefix="file")
    assert junk.status_code == 400 and "not an Ethereum keystore" in text(junk)
    good = visitor.post("/auth/import/keystore", {"keystore": (io.BytesIO(json.dumps(keystore).encode()), "k.json"),
                                                   "password": PASSWORD}, prefix="file", follow_redirects=True)
    assert f"Account {other.address} imported" in text(good)


def test_every_page_carries_the_security_headers(visitor):
    response = visitor.get("/auth/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
