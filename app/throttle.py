"""Limits on what one client or one account may try: failed logins (each costs the server a
scrypt run and an attacker a guess) and new accounts (each may be funded by the faucet).

Counted in this process's memory, like the keyring: a restart forgets them. Clients are told
apart by `request.remote_addr`; behind a reverse proxy, set up werkzeug's ProxyFix so that it is
the visitor's address rather than the proxy's. Each limit is an app config key, read from
CARECHAIN_<key> in the environment when the app's config does not set it.
"""

import math
import os
import threading
import time
from collections import deque

from flask import Flask, current_app, request
from werkzeug.exceptions import TooManyRequests

DEFAULTS = {
    "LOGIN_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_FAILURES_PER_CLIENT": 20,  # several people may share one address (a clinic, a NAT)
    "LOGIN_FAILURE_WINDOW": 15 * 60,  # seconds
    "SIGNUPS_PER_HOUR": 10,  # per client
}


class Limit:
    """At most `limit` events per key in any `period` seconds (a sliding window)."""

    def __init__(self, limit: int, period: float, clock=time.monotonic):
        self.limit = limit
        self.period = period
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def wait(self, key: str) -> float:
        """Seconds until `key` may act again; 0 if it may now."""
        with self._lock:
            events = self._recent(key)
            if len(events) < self.limit:
                return 0.0
            return events[-self.limit] + self.period - self.clock()

    def add(self, key: str) -> None:
        with self._lock:
            self._events[key] = self._recent(key)
            self._events[key].append(self.clock())
            self._sweep()

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        events = self._events.get(key, deque())
        while events and events[0] <= self.clock() - self.period:
            events.popleft()
        return events

    def _sweep(self) -> None:
        """Drops keys with nothing recent, at most once a period, so memory stays bounded."""
        now = self.clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.period
        for key in list(self._events):
            if not self._recent(key):
                del self._events[key]


class Throttle:
    """The limits of one app."""

    def __init__(self, config, clock=time.monotonic):
        window = config["LOGIN_FAILURE_WINDOW"]
        self.failures_per_client = Limit(config["LOGIN_FAILURES_PER_CLIENT"], window, clock)
        self.failures_per_account = Limit(config["LOGIN_FAILURES_PER_ACCOUNT"], window, clock)
        self.signups_per_client = Limit(config["SIGNUPS_PER_HOUR"], 3600, clock)


def throttle() -> Throttle:
    return current_app.extensions["throttle"]


def check_login(address: str) -> None:
    """Refuses, before any scrypt run, a login for an account or from a client that failed too often."""
    wait = max(throttle().failures_per_client.wait(request.remote_addr),
               throttle().failures_per_account.wait(address))
    if wait > 0:
        raise TooManyRequests(f"Too many failed attempts to log in; try again in {_minutes(wait)}.",
                              retry_after=math.ceil(wait))


def login_failed(address: str) -> None:
    throttle().failures_per_client.add(request.remote_addr)
    throttle().failures_per_account.add(address)


def login_succeeded(address: str) -> None:
    """The owner got in: their typos no longer count (the client's failures still do)."""
    throttle().failures_per_account.clear(address)


def check_signup() -> None:
    wait = throttle().signups_per_client.wait(request.remote_addr)
    if wait > 0:
        raise TooManyRequests(f"Too many new accounts from your network; try again in {_minutes(wait)}.",
                              retry_after=math.ceil(wait))


def signed_up() -> None:
    throttle().signups_per_client.add(request.remote_addr)


def _minutes(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def init_app(app: Flask) -> None:
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, int(os.environ.get(f"CARECHAIN_{name}", value)))
    app.extensions["throttle"] = Throttle(app.config)
