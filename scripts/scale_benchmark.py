"""The scale benchmark of `make report` (alone: `python -m scripts.scale_benchmark`), on a chain and
IPFS node of its own: a patient with 10,000 records and 1,000 grants, then 50,000 later blocks.
Each everyday page is timed through the web app's real routes (Flask's test client, CSRF on),
logged in with a password as the user whose page it is: the patient's records, grants and audit
pages, a doctor's patient list and the admin's provider list. Also timed: the event index catching
up with the whole chain from an empty file.

Most records are bare index entries (random digests, no IPFS content); the newest page's are real
encrypted records, so the records page opens what it lists. The grants go to 1,000 registered
hospitals, the doctor's hospital among them. All this is sent as pre-signed transactions with explicit
nonces and gas, in batch requests, so building takes minutes, not hours. SCALE_RECORDS,
SCALE_GRANTS and SCALE_BLOCKS make a smaller chain for a quick try.
"""

import dataclasses
import functools
import os
import sys

import requests
from eth_account import Account

from app import create_app
from app.carechain import crypto
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.settings import Settings
from scripts import localchain, step_timing
from scripts.benchmark import KB, Target, on_own_stack, percentile, record_of, targets_table, timed
from scripts.web_load import CSRF

RECORDS = int(os.environ.get("SCALE_RECORDS", 10_000))
GRANTS = int(os.environ.get("SCALE_GRANTS", 1_000))
LATER_BLOCKS = int(os.environ.get("SCALE_BLOCKS", 50_000))
REAL_RECORDS = 20  # the records page's newest page (app/patient.py, PAGE_SIZE)
RUNS = 20
PAGE_TARGET_MS = 50
CATCH_UP_TARGET_S = 60
PASSWORD = "scale-benchmark-password"
SEND_BATCH = 200  # transactions per JSON-RPC batch request
MINE_BATCH = 10_000  # empty blocks per evm_mine request


def send_all(carechain: CareChain, sender, calls: list, gas: int) -> None:
    """Signs `calls` (contract functions with arguments) with explicit nonces and sends them in
    batch requests, then checks the last one was mined; Ganache mines each on arrival, in nonce
    order, one block each."""
    if not calls:
        return
    chain = carechain.chain
    nonce = chain.w3.eth.get_transaction_count(sender.address, "pending")
    fee = chain.w3.eth.gas_price * 2
    signed = ["0x" + sender.sign_transaction({
        "to": chain.address, "data": call._encode_transaction_data(), "gas": gas, "nonce": nonce + offset,
        "chainId": chain.chain_id, "maxFeePerGas": fee, "maxPriorityFeePerGas": 1, "value": 0,
    }).raw_transaction.hex() for offset, call in enumerate(calls)]
    with requests.Session() as session:
        for start in range(0, len(signed), SEND_BATCH):
            batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]}
                     for i, raw in enumerate(signed[start:start + SEND_BATCH])]
            answers = session.post(chain.rpc_url, json=batch).json()
            refused = [answer["error"] for answer in answers if "error" in answer]
            if refused:
                raise RuntimeError(f"the chain refused {len(refused)} transactions, the first with: {refused[0]}")
    tx_hash = chain.w3.keccak(hexstr=signed[-1])
    if chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=600)["status"] != 1:
        raise RuntimeError("the last transaction of a batch reverted")


def mine_empty_blocks(carechain: CareChain, count: int) -> None:
    """Ganache 7 mines many empty blocks in one `evm_mine` request."""
    target = carechain.chain.latest_block() + count
    for start in range(0, count, MINE_BATCH):
        answer = carechain.chain.w3.provider.make_request("evm_mine", [{"blocks": min(MINE_BATCH, count - start)}])
        if "error" in answer:
            raise RuntimeError(f"evm_mine failed: {answer['error']}")
    if carechain.chain.latest_block() < target:
        raise RuntimeError("evm_mine did not mine the blocks asked for")


def build(carechain: CareChain, keystore: Keystore) -> dict:
    """The scale chain; returns the users whose pages are timed (patient, doctor, admin)."""
    functions = carechain.chain.contract.functions
    admin = keystore.import_key(localchain.dev_account(0).key.hex(), PASSWORD)
    doctor = keystore.import_key(localchain.dev_account(2).key.hex(), PASSWORD)
    patient = keystore.create(PASSWORD)
    carechain.fund(admin, patient.address, 100)
    carechain.register_patient(patient)
    elapsed, hospitals = timed(lambda: register_hospitals(carechain, admin))
    carechain.register_doctor(admin, doctor.address, hospitals[0].address, crypto.public_key_of(doctor.key))
    print(f"registered {GRANTS:,} hospitals in {elapsed / 1000:.0f} s", flush=True)
    elapsed, _ = timed(lambda: send_all(carechain, patient, [
        functions.addRecord(patient.address, os.urandom(32), i % 5) for i in range(RECORDS - REAL_RECORDS)], 200_000))
    for _ in range(REAL_RECORDS):
        carechain.add_record(patient, patient.address, record_of(patient.address, KB))
    print(f"added {RECORDS:,} records in {elapsed / 1000:.0f} s", flush=True)
    expiry = carechain.now() + 365 * 86400
    elapsed, _ = timed(lambda: send_all(carechain, patient, [
        functions.grantAccess(h.address, 0b11111, False, expiry, bytes(32)) for h in hospitals], 200_000))
    print(f"granted {GRANTS:,} hospitals access in {elapsed / 1000:.0f} s", flush=True)
    elapsed, _ = timed(lambda: mine_empty_blocks(carechain, LATER_BLOCKS))
    print(f"mined {LATER_BLOCKS:,} later blocks in {elapsed / 1000:.0f} s", flush=True)
    return {"patient": patient, "doctor": doctor, "admin": admin}


def register_hospitals(carechain: CareChain, admin) -> list:
    hospitals = [Account.create() for _ in range(GRANTS)]
    send_all(carechain, admin, [carechain.chain.contract.functions.registerHospital(
        h.address, crypto.public_key_of(h.key)) for h in hospitals], 200_000)
    return hospitals


def index_catch_up(settings: Settings) -> tuple[Settings, str]:
    """Times the event index catching up with the whole chain from an empty file (a fresh file
    named through the settings, as a server whose index was deleted starts with); returns the
    settings naming that index, and the figure beside its target, or why it was skipped."""
    if "index" not in {field.name for field in dataclasses.fields(Settings)} or not hasattr(CareChain, "indexed"):
        return settings, ("Event index catch-up: skipped, the library has no event index yet "
                          "(app/carechain/index.py, Settings.index, CareChain.indexed).")
    rebuilt = dataclasses.replace(settings, index=str(settings.data / "index-rebuilt.sqlite"))

    def catch_up() -> int:
        carechain = CareChain.connect(rebuilt)
        try:
            carechain.indexed()
            return carechain.chain.latest_block() - carechain.chain.deploy_block
        finally:
            carechain.close()

    elapsed, blocks = timed(catch_up)
    figure = f"event index catching up with the whole chain ({blocks:,} blocks) from an empty file"
    return rebuilt, targets_table([Target(figure, elapsed / 1000, CATCH_UP_TARGET_S, "s")])


def logged_in(app, account):
    """A test client logged in through the login form, as a browser would."""
    client = app.test_client()
    token = CSRF.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    answer = client.post("/auth/login", data={"csrf_token": token, "address": account.address, "password": PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"logging in as {account.address} failed with status {answer.status_code}")
    return client


def load_page(client, url: str) -> None:
    answer = client.get(url)
    if answer.status_code != 200:
        raise RuntimeError(f"{url} answered {answer.status_code}")


def round_trips(load) -> str:
    """The JSON-RPC and IPFS requests of one more load (a batch request counts once), counted
    apart from the timed loads so that counting costs them nothing."""
    timer = step_timing.StepTimer([])
    with timer.instrumented():
        load()
    return step_timing.summary(timer)


def page_rows(settings: Settings, users: dict) -> list[str]:
    app = create_app({"CARECHAIN": settings})
    clients = {role: logged_in(app, account) for role, account in users.items()}
    pages = [
        ("the patient's records page, newest 20", "patient", "/patient/"),
        ("the patient's grants page, newest 50 grantees", "patient", "/patient/grants"),
        ("the patient's audit page, newest 100 events", "patient", "/patient/audit"),
        ("the doctor's patient list", "doctor", "/doctor/"),
        ("the admin's provider list", "admin", "/admin/"),
    ]
    rows = []
    for label, role, url in pages:
        load = functools.partial(load_page, clients[role], url)
        first = timed(load)[0]  # the records page decrypts its records once per session
        samples = [timed(load)[0] for _ in range(RUNS)]
        p50 = percentile(samples, .5)
        rows.append(f"| {label} (`{url}`) | {RUNS} | {first:.0f} ms | {p50:.0f} ms | "
                    f"{percentile(samples, .95):.0f} ms | {round_trips(load)} | "
                    f"<= {PAGE_TARGET_MS} ms | {'yes' if p50 <= PAGE_TARGET_MS else '**no**'} |")
        print(rows[-1], flush=True)
    return rows


def run(settings: Settings) -> str:
    carechain = CareChain.connect(settings)
    try:
        users = build(carechain, Keystore(settings.keystores))
    finally:
        carechain.close()
    settings, catch_up = index_catch_up(settings)
    print(catch_up, flush=True)
    rows = page_rows(settings, users)
    return "\n".join([
        f"A patient with {RECORDS:,} records and {GRANTS:,} grants (to hospitals, the doctor's hospital among them), "
        f"then {LATER_BLOCKS:,} later blocks. Pages through the web app's routes (Flask test client), "
        "each logged in as its user; first load, then p50 and p95 of the next runs:", "",
        "| page | runs | first load | p50 | p95 | requests per load | target p50 | met |",
        "|---|---:|---:|---:|---:|---|---|:---:|",
        *rows, "", catch_up,
    ])


def main() -> int:
    print(f"\n{on_own_stack(run)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
