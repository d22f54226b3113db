"""Helpers of the end-to-end tests."""

import re

from app.accounts import keyring
from app.carechain.vitals import vital_sign

DAY = 86400
CSRF = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')


def pulse(patient, value=72, at=None):
    return vital_sign(patient.address, "pulse", value, at)


def days_from_now(carechain, days):
    return carechain.now() + int(days * DAY)


def travel_to(carechain, second):
    """Mines a block at `second`: the chain's clock then reads it."""
    carechain.chain.w3.provider.make_request("evm_mine", [second])


def text(response) -> str:
    """A web response's body as text."""
    return response.get_data(as_text=True)


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
