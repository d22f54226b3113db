"""The web app through Flask's test client, on the session's real chain and IPFS node. CSRF
protection stays on: every post carries the token of the page's session, as a browser's would."""

import pytest

from app import create_app
from scripts import localchain
from tests.e2e.helpers import User

FAUCET = localchain.dev_account(9)


@pytest.fixture(scope="session")
def app(stack, people):
    return create_app({"TESTING": True, "CARECHAIN": stack[1], "FAUCET_KEY": FAUCET.key.hex()})


@pytest.fixture
def visitor(app):
    return User(app)


@pytest.fixture
def as_user(app):
    """as_user(account): a client logged in as that account."""
    return lambda account: User(app, account)
