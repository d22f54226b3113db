"""The web app restarted in the middle of a session: unlocked keys were in the old process's
memory only, so the user is asked to log in again; a form from before the restart changes
nothing; after logging in, the same form goes through."""

from app import create_app
from app.carechain.keystore import Keystore
from scripts import localchain
from tests.e2e.helpers import User, text

PASSWORD = "correct horse battery"


def test_a_restart_logs_users_out_and_loses_nothing(stack, people, carechain):
    settings = stack[1]
    config = {"CARECHAIN": settings, "SECRET_KEY": "kept across restarts, as CARECHAIN_SECRET_KEY is",
              "FAUCET_KEY": localchain.dev_account(9).key.hex()}
    account = Keystore(settings.keystores).create(PASSWORD)
    before = User(create_app(config))
    before.post("/auth/login", {"address": account.address, "password": PASSWORD})
    before.post("/auth/welcome", {"saved": "y"})
    assert carechain.participant(account.address).role == "patient"
    grant = {"provider": people.doctor.address, "categories": ["0"], "access": "read", "days": "3",
             "csrf_token": before.csrf_token()}

    after = User(create_app(config))  # the restarted process, and the same browser's cookie
    after.client.set_cookie("session", before.client.get_cookie("session").value)
    response = after.post("/patient/grants", grant, csrf=False, follow_redirects=True)
    assert "Your session ended" in text(response) and "Log in" in text(response)
    assert carechain.grant_of(account.address, people.doctor.address).expires_at == 0

    after.post("/auth/login", {"address": account.address, "password": PASSWORD})
    done = after.post("/patient/grants", grant, follow_redirects=True)
    assert "may now read your vitals records" in text(done)
