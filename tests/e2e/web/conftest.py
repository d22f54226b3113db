"""The web app through Flask's test client, on the session's real chain and IPFS node. CSRF
protection stays on: every post carries the token of the page's session, as a browser's would."""

import re

import pytest

from app import create_app
from app.accounts import keyring
from scripts import localchain

FAUCET = localchain.dev_account(9)
CSRF = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="session")
def app(stack, people):
    return create_app({"TESTING": True, "CARECHAIN": stack[1], "FAUCET_KEY": FAUCET.key.hex()})


class User:
    """A test client, optionally logged in as `account` (its key put in the keyring as a
    password login would)."""

    def __init__(self, app, account=None):
        self.app = app
        self.client = app.test_client()
        self.account = account
        if account is not None:
            with app.test_request_context():
                token = keyring().open(account)
            with self.client.session_transaction() as session:
                session["token"], session["address"] = token, account.address

    @property
    def address(self):
        return self.account.address

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def csrf_token(self) -> str:
        return CSRF.search(self.get("/auth/login").get_data(as_text=True)).group(1)

    def post(self, url, data=None, prefix=None, csrf=True, **kwargs):
        """Posts form `data` (field names without the form's prefix) with the session's token."""
        fields = {f"{prefix}-{k}" if prefix else k: v for k, v in (data or {}).items()}
        if csrf:
            fields[f"{prefix}-csrf_token" if prefix else "csrf_token"] = self.csrf_token()
        return self.client.post(url, data=fields, **kwargs)


@pytest.fixture
def visitor(app):
    return User(app)


@pytest.fixture
def as_user(app):
    """as_user(account): a client logged in as that account."""
    return lambda account: User(app, account)
