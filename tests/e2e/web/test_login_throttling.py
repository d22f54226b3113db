"""Guessing passwords: failed logins are limited per client and per account, refused before any
scrypt run; an unknown address costs the same scrypt run as a known one, so timing does not tell
which addresses have an account; and a flood of logins meets a bounded queue and a "busy" page."""

import time

import pytest
from eth_account import Account

from app.carechain import keystore
from app.carechain.keystore import Keystore, ScryptSlots
from tests.e2e.helpers import User, text

PASSWORD = "correct horse battery"
WRONG = "not the password"
WINDOW = 15 * 60


@pytest.fixture
def app(app_on_clock):
    """An app of this test's own (its own limits, counts and fake clock)."""
    return app_on_clock(LOGIN_FAILURES_PER_ACCOUNT=3, LOGIN_FAILURES_PER_CLIENT=5, LOGIN_FAILURE_WINDOW=WINDOW)


@pytest.fixture(scope="module")
def accounts(stack):
    store = Keystore(stack[1].keystores)
    return [store.create(PASSWORD) for _ in range(2)]


def client_at(app, remote_address):
    user = User(app)
    user.client.environ_base["REMOTE_ADDR"] = remote_address
    return user


def log_in(user, address, password):
    return user.post("/auth/login", {"address": address, "password": password})


def refused_as_throttled(response, minutes):
    return (response.status_code == 429 and "Too many failed attempts" in text(response)
            and f"try again in {minutes} minutes" in text(response) and int(response.headers["Retry-After"]) > 0)


@pytest.fixture
def scrypt_slots(monkeypatch):
    """One scrypt slot and no queue, held by the test: any login reaching scrypt is turned away
    as busy, so a 429 instead proves that the throttle answered without running it."""
    slots = ScryptSlots(running=1, waiting=0)
    monkeypatch.setattr(keystore, "SCRYPT_SLOTS", slots)
    return slots


def test_an_account_is_locked_after_its_failures_while_other_accounts_still_log_in(app, accounts, clock,
                                                                                    scrypt_slots):
    target, other = accounts
    for number in range(3):  # from three clients: the account's own count
        assert log_in(client_at(app, f"10.1.0.{number}"), target.address, WRONG).status_code == 400

    with scrypt_slots:
        assert refused_as_throttled(log_in(client_at(app, "10.1.0.9"), target.address, WRONG), 15)
        assert refused_as_throttled(log_in(client_at(app, "10.1.0.9"), target.address, PASSWORD), 15)
    clock.now += 10 * 60
    assert refused_as_throttled(log_in(client_at(app, "10.1.0.9"), target.address, PASSWORD), 5)

    assert log_in(client_at(app, "10.1.0.1"), other.address, PASSWORD).status_code == 302
    clock.now += 5 * 60
    assert log_in(client_at(app, "10.1.0.9"), target.address, PASSWORD).status_code == 302


def test_a_client_is_refused_after_its_failures_on_any_accounts_while_others_log_in(app, accounts, clock,
                                                                                    scrypt_slots):
    guesser = client_at(app, "10.2.0.1")
    for _ in range(5):  # five accounts that do not exist here
        assert log_in(guesser, Account.create().address, WRONG).status_code == 400

    with scrypt_slots:
        assert refused_as_throttled(log_in(guesser, accounts[0].address, PASSWORD), 15)
    assert log_in(client_at(app, "10.2.0.2"), accounts[0].address, PASSWORD).status_code == 302
    clock.now += WINDOW
    assert log_in(guesser, accounts[0].address, PASSWORD).status_code == 302


def test_a_successful_login_clears_the_accounts_typos(app, accounts):
    owner = client_at(app, "10.3.0.1")
    for _ in range(2):
        log_in(owner, accounts[1].address, WRONG)
    assert log_in(owner, accounts[1].address, PASSWORD).status_code == 302
    for _ in range(2):
        assert log_in(owner, accounts[1].address, WRONG).status_code == 400
    assert log_in(owner, accounts[1].address, PASSWORD).status_code == 302


def test_an_unknown_address_costs_the_same_scrypt_run_as_a_known_one(app, accounts):
    started = time.perf_counter()
    Account.decrypt(Account.encrypt(b"\x01" * 32, PASSWORD), PASSWORD)
    scrypt = (time.perf_counter() - started) / 2

    user = client_at(app, "10.4.0.1")
    log_in(user, Account.create().address, WRONG)  # the first also makes the decoy keystore

    def timed(address):
        started = time.perf_counter()
        response = log_in(user, address, WRONG)
        return time.perf_counter() - started, response

    known, known_response = timed(accounts[0].address)
    unknown, unknown_response = timed(Account.create().address)
    assert known_response.status_code == unknown_response.status_code == 400
    for response in (known_response, unknown_response):
        assert "No account with this name or address and this password" in text(response)
    assert known > scrypt / 2 and unknown > scrypt / 2, (scrypt, known, unknown)


def test_logins_beyond_the_scrypt_queue_get_a_busy_page_at_once(app, accounts, scrypt_slots):
    user = client_at(app, "10.5.0.1")
    with scrypt_slots:  # all slots taken, no room to wait
        busy = log_in(user, accounts[0].address, PASSWORD)
        signup = user.post("/auth/signup", {"kind": "patient", "name": "", "password": PASSWORD,
                                            "confirm": PASSWORD})
    for response in (busy, signup):
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert "The server is busy" in text(response) and "try again in a moment" in text(response)
    assert "/auth/login" in user.get("/auth/welcome").location  # not logged in

    assert log_in(user, accounts[0].address, PASSWORD).status_code == 302  # and busy was no failure
