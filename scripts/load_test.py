"""`make load-test`: the concurrency cases of the integrity review, through the real web app on a
chain and IPFS node of its own, bounded in time and on loopback only. Prints, per case, the
requests sent and how many failed, were lost, were stored twice or left unpinned.

- one patient, 8 tabs at once for LOAD_SECONDS (default 30): record uploads and grant renewals;
- one record form sent 8 times at once (a frantic double click): stored exactly once;
- 8 new users at once: sign up, key backup, funding and registration.

A failure is a server error, a page showing raw chain or node text, or a refused upload; a renewal
refused in words because another tab renewed further first is counted apart, as "refused".
"""

import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from eth_account import Account

from app import create_app
from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, enrol, provider_entry
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.records import Category
from scripts import localchain
from scripts.benchmark import on_own_stack
from scripts.serve import serve
from scripts.services import free_port

PASSWORD = "load-test-password"
SECONDS = min(int(os.environ.get("LOAD_SECONDS", 30)), 300)
TABS = 8
CSRF = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')
RAW_ERRORS = re.compile(r"Traceback|nonce|underpriced|VM Exception|RPC|Internal Server Error", re.I)


class Tab:
    """A browser tab: its own session, logged in as `address`."""

    def __init__(self, base: str, address: str | None = None):
        self.base, self.session = base, requests.Session()
        if address:
            self.post("/auth/login", {"address": address, "password": PASSWORD})

    def post(self, path: str, data: dict, prefix: str = "") -> requests.Response:
        token = CSRF.search(self.session.get(f"{self.base}/auth/login").text).group(1)
        fields = {f"{prefix}-{k}" if prefix else k: v for k, v in data.items()}
        fields[f"{prefix}-csrf_token" if prefix else "csrf_token"] = token
        return self.session.post(f"{self.base}{path}", data=fields, timeout=120)


class Tally:
    def __init__(self):
        self.sent = self.failed = self.refused = 0
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def note(self, response: requests.Response, refusal_ok: str | None = None) -> bool:
        """Counts a response; True if it succeeded."""
        with self._lock:
            self.sent += 1
            if response.status_code < 400 and not RAW_ERRORS.search(response.text):
                return True
            if refusal_ok and response.status_code < 500 and refusal_ok in response.text:
                self.refused += 1
                return False
            self.failed += 1
            self.problems.append(f"{response.status_code} {response.url}")
            return False


def unpinned(carechain: CareChain, patient: str) -> int:
    """Index entries and delivered key bundles of `patient` that the IPFS node no longer pins."""
    digests = [entry.digest for entry in carechain.all_records(patient)]
    digests += [bytes(event["args"]["keyBundle"]) for name in ("AccessGranted", "AccessRenewed")
                for event in carechain.chain.events(name, patient=patient) if any(event["args"]["keyBundle"])]
    return sum(not carechain.store.is_pinned(digest) for digest in digests)


def one_patient_in_many_tabs(base: str, carechain: CareChain, patient, doctor: str) -> str:
    carechain.grant(patient, doctor, [Category.VITALS], False, carechain.now() + 86400)
    tally, stored, until = Tally(), [], time.monotonic() + SECONDS
    counter = iter(range(10**9))

    def work(tab: Tab):
        while time.monotonic() < until:
            step = next(counter)
            if step % 4 == 3:
                response = tab.post(f"/patient/grants/{doctor}/renew", {"days": str(2 + step % 300)}, prefix=doctor)
                tally.note(response, refusal_ok="later than the current one")
            else:
                value, minute = 40 + step % 150, step // 150
                measured = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(1_700_000_000 + 60 * minute))
                data = {"kind": "pulse", "value": str(value), "measured_at": measured}
                if tally.note(tab.post("/patient/records/new/vitals", data, prefix="vitals")):
                    stored.append((value, measured))

    tabs = [Tab(base, patient.address) for _ in range(TABS)]
    with ThreadPoolExecutor(TABS) as pool:
        list(pool.map(work, tabs))
    indexed = carechain.all_records(patient.address)
    contents = [carechain.read_record(patient, patient.address, e.digest, log=False).record.resource for e in indexed]
    found = {(c["valueQuantity"]["value"], c["effectiveDateTime"][:16]) for c in contents}
    expected = set(stored)
    lost = len({(v, m) for v, m in expected} - {(int(v), m) for v, m in found})
    return row(f"1 patient, {TABS} tabs for {SECONDS} s: uploads and renewals", tally, lost,
               len(indexed) - len(found), unpinned(carechain, patient.address))


def one_form_sent_many_times(base: str, carechain: CareChain, patient) -> str:
    tally = Tally()
    data = {"kind": "pulse", "value": "99", "shown_at": str(int(time.time()))}
    tabs = [Tab(base, patient.address) for _ in range(TABS)]
    before = carechain.participant(patient.address).record_count
    with ThreadPoolExecutor(TABS) as pool:
        list(pool.map(lambda tab: tally.note(tab.post("/patient/records/new/vitals", data, prefix="vitals")), tabs))
    added = carechain.participant(patient.address).record_count - before
    return row(f"1 record form sent {TABS} times at once", tally, max(0, 1 - added), max(0, added - 1),
               unpinned(carechain, patient.address))


def many_new_users(base: str, carechain: CareChain) -> str:
    tally, addresses = Tally(), []

    def sign_up(_):
        tab = Tab(base)
        response = tab.post("/auth/signup", {"kind": "patient", "password": PASSWORD, "confirm": PASSWORD})
        if tally.note(response):
            address = re.search(r"0x[0-9a-fA-F]{40}", tab.session.get(f"{base}/auth/welcome").text)[0]
            if tally.note(tab.post("/auth/welcome", {"saved": "y"})):
                addresses.append(address)

    with ThreadPoolExecutor(TABS) as pool:
        list(pool.map(sign_up, range(TABS)))
    registered = [a for a in addresses if (p := carechain.participant(a)) and p.role == "patient"]
    funded_twice = sum(carechain.chain.w3.eth.get_balance(a) > 10**18 for a in registered)
    return row(f"{TABS} new users at once: sign up and register", tally, TABS - len(registered), funded_twice, 0)


def row(case: str, tally: Tally, lost: int, duplicated: int, unpinned_count: int) -> str:
    line = (f"| {case} | {tally.sent} | {tally.failed} | {tally.refused} | {lost} | {duplicated} | "
            f"{unpinned_count} |")
    print(line + ("" if not tally.problems else f"  first problems: {tally.problems[:3]}"), flush=True)
    return line


def run(settings) -> str:
    carechain = CareChain.connect(settings)
    admin, hospital = localchain.dev_account(0), localchain.dev_account(1)
    doctor = localchain.dev_account(2)
    directory = ProviderDirectory(settings.directory)
    enrol(carechain, directory, admin, provider_entry(hospital.address, "Load Hospital", "hospital",
                                                      crypto.public_key_of(hospital.key)))
    enrol(carechain, directory, admin, provider_entry(doctor.address, "Dr. Load", "doctor",
                                                      crypto.public_key_of(doctor.key)), hospital.address)
    patient = Keystore(settings.keystores).create(PASSWORD)
    carechain.fund(admin, patient.address, 100)
    carechain.register_patient(patient)

    port = free_port()
    app = create_app({"CARECHAIN": settings, "FAUCET_KEY": localchain.dev_account(9).key.hex(),
                      "SIGNUPS_PER_HOUR": 10 * TABS})
    server = serve(app, "127.0.0.1", port)
    base = f"http://127.0.0.1:{port}"
    header = ["| case | requests | failed | refused in words | lost | duplicated | unpinned |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    print("\n".join(header), flush=True)
    try:
        rows = [one_patient_in_many_tabs(base, carechain, patient, doctor.address),
                one_form_sent_many_times(base, carechain, patient),
                many_new_users(base, carechain)]
    finally:
        server.close()
        carechain.close()
    return "\n".join(header + rows)


def main() -> int:
    Account.enable_unaudited_hdwallet_features()
    print(f"\n{on_own_stack(run)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
