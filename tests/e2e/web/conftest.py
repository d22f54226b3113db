"""The web app through Flask's test client, on the session's real chain and IPFS node. CSRF
protection stays on: every post carries the token of the page's session, as a browser's would."""

import pytest

from app import create_app
from app.throttle import Throttle
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


class Clock:
    """A clock the test moves by hand (`clock.now += seconds`)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app_on_clock(stack, people, clock):
    """app_on_clock(**config): an app of the test's own (its own limits and counts) on the
    session's services, its throttle reading `clock`."""
    def create(**config):
        app = create_app({"TESTING": True, "CARECHAIN": stack[1], **config})
        app.extensions["throttle"] = Throttle(app.config, clock)
        return app
    return create
