"""Logged-in users: their unlocked keys, in this process's memory only.

The session cookie (signed, HttpOnly, SameSite=Strict) carries a random token and the address;
the key it unlocks lives in the `Keyring`, which forgets it at logout, after the idle timeout, or
when the process ends. Nothing of it is written anywhere.
"""

import functools
import secrets
import threading
import time
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from flask import Flask, current_app, flash, g, redirect, request, session, url_for

from app.backend import directory, get_carechain


@dataclass
class Unlocked:
    account: LocalAccount
    last_seen: float
    # Summaries of records this user decrypted (title, verification), so lists need not decrypt
    # again; memory only, gone with the session.
    summaries: dict = field(default_factory=dict)
    # patient -> when (monotonic) this provider's listing of the patient's records was last logged
    # on chain: one logged listing per visit (see doctor.py).
    listed: dict = field(default_factory=dict)


class Keyring:
    def __init__(self, idle_timeout: float):
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, Unlocked] = {}
        self._lock = threading.Lock()

    def open(self, account: LocalAccount) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_idle()
            self._sessions[token] = Unlocked(account, time.monotonic())
        return token

    def get(self, token: str | None) -> Unlocked | None:
        with self._lock:
            self._forget_idle()
            unlocked = self._sessions.get(token) if token else None
            if unlocked:
                unlocked.last_seen = time.monotonic()
            return unlocked

    def close(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _forget_idle(self) -> None:
        limit = time.monotonic() - self.idle_timeout
        for token in [t for t, unlocked in self._sessions.items() if unlocked.last_seen < limit]:
            del self._sessions[token]


def keyring() -> Keyring:
    return current_app.extensions["keyring"]


def log_in(account: LocalAccount) -> None:
    log_out()
    session["token"] = keyring().open(account)
    session["address"] = account.address


def log_out() -> None:
    keyring().close(session.get("token"))
    session.clear()


def role() -> str:
    """admin (the deployer), patient, doctor, hospital, researcher (a research institution), or none
    (not registered yet); per request."""
    if "role" not in g:
        is_admin, role = get_carechain().standing(g.user.account.address)
        g.role = "admin" if is_admin else role
    return g.role


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str):
    """Lets through users of `roles`; sends anyone else to their own home page."""

    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if role() not in roles:
                flash("That page is not for your account.", "error")
                return redirect(url_for("auth.home"))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def display_name(address: str | None) -> str:
    """How an account appears on pages: "you", the name the admin registered for a provider, or
    a shortened address (also for a sign-up request: anyone can ask for any name)."""
    if not address:
        return "—"
    if g.get("user") and address == g.user.account.address:
        return "you"
    return directory().name_of(address) or short_address(address)


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def init_app(app: Flask) -> None:
    app.extensions["keyring"] = Keyring(app.config["IDLE_TIMEOUT"])

    @app.before_request
    def load_user():
        g.user = keyring().get(session.get("token"))
        if g.user is None and "token" in session:
            session.clear()
            flash("Your session ended (logged out after inactivity, or the server restarted). Log in again.", "info")
