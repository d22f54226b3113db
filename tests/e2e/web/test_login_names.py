"""Logging in with a name or e-mail address chosen at sign-up: unique, compared without regard to
case, optional (the address always works), and an unknown name refused like a wrong password."""

import secrets

import pytest

from app.carechain.errors import InvalidInput
from app.carechain.logins import LoginNames
from tests.e2e.helpers import User, text

PASSWORD = "correct horse battery"


def unique(name: str) -> str:
    """Tests share the server's files: each makes names of its own."""
    return f"{name}.{secrets.token_hex(3)}"


def sign_up(visitor, login_name="", kind="patient", name=""):
    return visitor.post("/auth/signup", {"kind": kind, "name": name, "login_name": login_name,
                                         "password": PASSWORD, "confirm": PASSWORD})


def log_in(app, login, password=PASSWORD):
    visitor = User(app)
    return visitor, visitor.post("/auth/login", {"address": login, "password": password})


def test_a_name_chosen_at_sign_up_logs_in_whatever_its_case(app, visitor):
    name = unique("Ada.Lovelace") + "@Example.org"
    assert sign_up(visitor, name).status_code == 302
    welcome = text(visitor.get("/auth/welcome"))
    address = welcome.split('id="address">')[1].split("<")[0]
    assert f'id="login-name">{name.casefold()}<' in welcome and "no one can reset it" in welcome
    for login in (name, name.upper(), f"  {name.casefold()} ", address):
        user, response = log_in(app, login)
        assert response.status_code == 302, login
        assert text(user.get("/auth/welcome")).split('id="address">')[1].split("<")[0] == address


def test_a_taken_or_malformed_name_is_refused_and_creates_nothing(visitor, stack):
    name = unique("ben")
    sign_up(visitor, name)
    keystores = len(list(stack[1].keystores.glob("0x*.json")))
    for taken_or_bad, message in ((name.upper(), "is taken"), ("ab", "3 to 64"), ("0xben", "does not start with 0x"),
                                  ("ben smith", "3 to 64")):
        response = sign_up(visitor, taken_or_bad)
        assert response.status_code == 400 and message in text(response), taken_or_bad
    assert len(list(stack[1].keystores.glob("0x*.json"))) == keystores


def test_an_unknown_name_is_refused_like_a_wrong_password_and_counted_against_the_name(app, visitor):
    name = unique("carol")
    sign_up(visitor, name)
    for login in (unique("nobody"), name):
        _, response = log_in(app, login, "a wrong password")
        assert response.status_code == 400
        assert "No account with this name or address and this password" in text(response)


def test_the_address_alone_still_works_without_a_name(app, visitor):
    assert sign_up(visitor).status_code == 302
    address = text(visitor.get("/auth/welcome")).split('id="address">')[1].split("<")[0]
    assert 'id="login-name"' not in text(visitor.get("/auth/welcome"))
    assert log_in(app, address)[1].status_code == 302


def test_one_name_per_account_and_one_account_per_name(tmp_path):
    names = LoginNames(tmp_path / "logins.json")
    first, second = "0x" + "11" * 20, "0x" + "22" * 20
    names.claim("Dana", first)
    assert names.address_of("DANA") == first and names.name_of(first) == "dana"
    with pytest.raises(InvalidInput, match="taken"):
        names.claim("dana", second)
    with pytest.raises(InvalidInput, match="already has a login name"):
        names.claim("dana2", first)
    assert names.claim("Dana", first) == "dana"  # claiming one's own name again changes nothing
