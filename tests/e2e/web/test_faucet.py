"""The faucet that funds new patients with gas: each account once (a ledger beside the keystores
remembers whom, across restarts), however many registrations arrive at once, and a limited number
of new accounts per client and hour."""

import json
import threading

import pytest
from eth_account import Account

from app import backend, create_app
from app.carechain.keystore import Keystore
from scripts import localchain
from tests.e2e.helpers import User, text

PASSWORD = "correct horse battery"
FAUCET = localchain.dev_account(9)


@pytest.fixture
def app(app_on_clock):
    """An app of this test's own (its own sign-up counts and fake clock) on the session's services."""
    return app_on_clock(FAUCET_KEY=FAUCET.key.hex(), SIGNUPS_PER_HOUR=2)


def client_at(app, remote_address):
    user = User(app)
    user.client.environ_base["REMOTE_ADDR"] = remote_address
    return user


def sign_up(user):
    return user.post("/auth/signup", {"kind": "patient", "name": "", "password": PASSWORD, "confirm": PASSWORD})


def signed_up_address(user) -> str:
    assert sign_up(user).status_code == 302
    return text(user.get("/auth/welcome")).split('id="address">')[1].split("<")[0]


def faucet_transactions(carechain) -> int:
    return carechain.chain.w3.eth.get_transaction_count(FAUCET.address)


def ledger(stack) -> dict:
    return json.loads((stack[1].keystores.parent / "faucet.json").read_text())


def post_all_at_once(users, url, data):
    """Posts from every user at the same moment (CSRF tokens fetched first); the responses in order."""
    tokens = [user.csrf_token() for user in users]
    start = threading.Barrier(len(users))
    responses = [None] * len(users)

    def post(index):
        start.wait()
        responses[index] = users[index].client.post(url, data={**data, "csrf_token": tokens[index]})

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_six_patients_registering_at_once_are_each_funded_once_and_registered(app, carechain, stack):
    users = [client_at(app, f"10.6.0.{number}") for number in range(6)]
    addresses = [signed_up_address(user) for user in users]
    before = faucet_transactions(carechain)

    responses = post_all_at_once(users, "/auth/welcome", {"saved": "y"})

    assert [r.status_code for r in responses] == [302] * 6, [text(r)[:300] for r in responses]
    assert all(r.location.endswith("/patient/") for r in responses)
    for user, address in zip(users, addresses):
        assert carechain.participant(address).role == "patient"
        assert "You are registered as a patient" in text(user.get("/patient/"))
    assert faucet_transactions(carechain) == before + 6
    assert set(addresses) <= set(ledger(stack))


def test_one_registration_sent_four_times_at_once_funds_and_registers_once(app, carechain, stack):
    address = signed_up_address(client_at(app, "10.7.0.1"))
    account = Keystore(stack[1].keystores).unlock(address, PASSWORD)
    tabs = [User(app, account) for _ in range(4)]  # one session each, as four tabs or browsers
    before = faucet_transactions(carechain)

    responses = post_all_at_once(tabs, "/auth/welcome", {"saved": "y"})

    assert [r.status_code for r in responses] == [302] * 4, [text(r)[:300] for r in responses]
    pages = [text(tab.get(r.location, follow_redirects=True)) for tab, r in zip(tabs, responses)]
    assert sum("You are registered as a patient" in page for page in pages) == 1
    assert sum("You are already registered as a patient" in page for page in pages) == 3
    assert all("<h1>My records</h1>" in page for page in pages)
    assert carechain.participant(address).role == "patient"
    assert faucet_transactions(carechain) == before + 1
    assert address in ledger(stack)


def test_an_account_funded_once_is_never_funded_again_even_after_a_restart(app, stack, carechain):
    address = Account.create().address
    before = faucet_transactions(carechain)
    with app.test_request_context():
        backend.fund(address)
        backend.fund(address)
    restarted = create_app({"TESTING": True, "CARECHAIN": stack[1], "FAUCET_KEY": FAUCET.key.hex()})
    with restarted.test_request_context():
        backend.fund(address)
    assert faucet_transactions(carechain) == before + 1
    assert carechain.chain.w3.eth.get_balance(address) == 10**18


def test_too_many_new_accounts_from_one_network_are_refused_for_an_hour(app, stack, clock):
    user = client_at(app, "10.8.0.1")
    signed_up_address(user)
    clock.now += 30 * 60
    signed_up_address(user)
    keystores = set(stack[1].keystores.glob("*.json"))

    refused = [sign_up(user),
               user.post("/auth/import/key", {"private_key": Account.create().key.hex(), "password": PASSWORD,
                                              "confirm": PASSWORD}, prefix="key")]
    for response in refused:
        assert response.status_code == 429 and response.headers["Retry-After"] == str(30 * 60)
        assert "Too many new accounts from your network; try again in 30 minutes" in text(response)
    assert set(stack[1].keystores.glob("*.json")) == keystores  # nothing created

    assert sign_up(client_at(app, "10.8.0.2")).status_code == 302  # another network
    clock.now += 30 * 60
    assert sign_up(user).status_code == 302
