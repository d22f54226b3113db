"""`make web-load`: the web app's memory under a bounded loopback load. The app runs as its own
process (`python -m scripts.serve`) on a chain and IPFS node of its own; four users (three
patients and a doctor they granted) log in and browse and read records concurrently for a
while; the server's resident memory is read from /proc before, during and after."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, enrol, provider_entry
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.records import Category, document
from app.carechain.vitals import vital_sign
from scripts import localchain
from scripts.benchmark import on_own_stack, percentile

PORT = 5207
PASSWORD = "load-test-password"
SECONDS = int(os.environ.get("LOAD_SECONDS", 30))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def memory_kb(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) for key in ("VmRSS", "VmHWM")}


def prepare(settings) -> tuple[list, object]:
    """Three patients with records, each granting one doctor; keystores for all four."""
    carechain = CareChain.connect(settings)
    keystore = Keystore(settings.keystores)
    admin, hospital = localchain.dev_account(0), localchain.dev_account(1)
    doctor = keystore.import_key(localchain.dev_account(2).key.hex(), PASSWORD)
    directory = ProviderDirectory(settings.directory)
    enrol(carechain, directory, admin, provider_entry(hospital.address, "Load Hospital", "hospital",
                                                      crypto.public_key_of(hospital.key)))
    enrol(carechain, directory, admin, provider_entry(doctor.address, "Dr. Load", "doctor",
                                                      crypto.public_key_of(doctor.key)), hospital.address)
    patients = []
    for _ in range(3):
        patient = keystore.create(PASSWORD)
        carechain.fund(admin, patient.address, 10)
        carechain.register_patient(patient)
        for value in (60, 70, 80):
            carechain.add_record(patient, patient.address, vital_sign(patient.address, "pulse", value))
        scan = b"%PDF-1.4\n" + os.urandom(200 << 10)
        carechain.add_record(patient, patient.address, document(patient.address, "Scan", scan, "application/pdf",
                                                                category=Category.VITALS))
        carechain.grant(patient, doctor.address, [Category.VITALS], False, carechain.now() + 86400)
        patients.append(patient)
    carechain.close()
    return patients, doctor


def browse(base: str, account, pages: list[str], until: float, latencies: list, errors: list) -> None:
    session = requests.Session()
    token = CSRF.search(session.get(f"{base}/auth/login").text).group(1)
    session.post(f"{base}/auth/login", data={"csrf_token": token, "address": account.address, "password": PASSWORD})
    links = []
    while time.monotonic() < until:
        for page in pages:
            start = time.perf_counter()
            response = session.get(f"{base}{page}")
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                errors.append(f"{page}: {response.status_code}")
            links = links or re.findall(r'href="(/(?:patient|doctor)/[^"]*records/[0-9a-f]{64})"', response.text)
        for link in links[:2]:  # open records (a doctor's reads are logged on chain)
            start = time.perf_counter()
            response = session.get(f"{base}{link}")
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                errors.append(f"{link}: {response.status_code}")


def run(settings) -> str:
    patients, doctor = prepare(settings)
    server = subprocess.Popen([sys.executable, "-m", "scripts.serve", "--port", str(PORT)], cwd=localchain.ROOT,
                              env={**os.environ, **settings.to_environment()}, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/auth/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        idle = memory_kb(server.pid)
        latencies, errors, threads = [], [], []
        until = time.monotonic() + SECONDS
        users = [(p, ["/patient/", "/patient/grants", "/patient/audit"]) for p in patients]
        users.append((doctor, ["/doctor/", f"/doctor/patients/{patients[0].address}"]))
        for account, pages in users:
            thread = threading.Thread(target=browse, args=(base, account, pages, until, latencies, errors))
            thread.start()
            threads.append(thread)
        peak_rss = 0
        while any(thread.is_alive() for thread in threads):
            peak_rss = max(peak_rss, memory_kb(server.pid)["VmRSS"])
            time.sleep(0.5)
        after = memory_kb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return "\n".join([
        f"Web app under load: {len(users)} users browsing and reading for {SECONDS} s on loopback "
        f"({len(latencies)} pages, p50 {percentile(latencies, .5):.0f} ms, p95 {percentile(latencies, .95):.0f} ms, "
        f"{len(errors)} errors):", "",
        "| server process | resident memory |", "|---|---:|",
        f"| idle, after start | {idle['VmRSS'] / 1024:.0f} MB |",
        f"| peak during the load | {max(peak_rss, after['VmHWM']) / 1024:.0f} MB |",
        f"| after the load | {after['VmRSS'] / 1024:.0f} MB |",
    ])


def main() -> int:
    print(f"\n{on_own_stack(run)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
