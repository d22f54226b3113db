"""`make scale-benchmark`: a patient with 10,000 records and 1,000 grants, on a chain and IPFS
node of its own; prints how long the patient's and the doctor's everyday reads take at that size.

The records are index entries (random digests, no IPFS content) and the grants go to 1,000
registered hospitals: what grows is what the chain holds. They are sent as pre-signed
transactions with explicit nonces and gas, so building takes minutes, not hours.
"""

import os
import sys
import time

from eth_account import Account

from app.carechain import crypto
from app.carechain.flows import CareChain
from scripts import localchain
from scripts.benchmark import on_own_stack, percentile, timed, with_carechain

RECORDS = int(os.environ.get("SCALE_RECORDS", 10_000))
GRANTS = int(os.environ.get("SCALE_GRANTS", 1_000))
RUNS = 20
PAGE = 20
AUDIT_PAGE = 100
GRANTS_PAGE = 50


def send_all(carechain: CareChain, sender, calls: list, gas: int) -> None:
    """Signs and sends `calls` (contract functions with arguments) back to back, then checks the
    last one was mined; Ganache mines each on arrival, in nonce order."""
    chain = carechain.chain
    w3 = chain.w3
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    fee = w3.eth.gas_price * 2
    receipt = None
    for offset, call in enumerate(calls):
        transaction = {"to": chain.address, "data": call._encode_transaction_data(), "gas": gas,
                       "nonce": nonce + offset, "chainId": chain.chain_id, "maxFeePerGas": fee,
                       "maxPriorityFeePerGas": 1, "value": 0}
        tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(transaction).raw_transaction)
    if calls:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=600)
        if receipt["status"] != 1:
            raise RuntimeError("the last transaction of a batch reverted")


def build(carechain: CareChain):
    functions = carechain.chain.contract.functions
    admin = localchain.dev_account(0)
    patient = Account.create()
    carechain.fund(admin, patient.address, 100)
    carechain.register_patient(patient)
    hospitals = [Account.create() for _ in range(GRANTS)]
    started = time.perf_counter()
    send_all(carechain, admin, [functions.registerHospital(h.address, crypto.public_key_of(h.key))
                                for h in hospitals], 200_000)
    expiry = carechain.now() + 365 * 86400
    send_all(carechain, patient, [functions.grantAccess(h.address, 0b11111, False, expiry, bytes(32))
                                  for h in hospitals], 200_000)
    send_all(carechain, patient, [functions.addRecord(patient.address, os.urandom(32), i % 5)
                                  for i in range(RECORDS)], 200_000)
    print(f"built {RECORDS} records and {GRANTS} grants in {time.perf_counter() - started:.0f} s", flush=True)
    return patient, hospitals


def run(carechain: CareChain) -> str:
    patient, hospitals = build(carechain)
    count = carechain.participant(patient.address).record_count
    assert count == RECORDS, count
    reader = hospitals[len(hospitals) // 2].address
    newest = carechain.records(patient.address, count, 1)[0]
    measures = {
        f"list the newest page of records ({PAGE})":
            lambda: carechain.records(patient.address, count - PAGE + 1, PAGE),
        "check access (canAccess call)": lambda: carechain.chain.call("canAccess", patient.address, reader, 0),
        "check access with the reason (access_problem)": lambda: carechain.access_problem(patient.address, reader, 0),
        "a record's index entry (record)": lambda: carechain.record(patient.address, newest.digest),
        f"the patient's grants page, newest {GRANTS_PAGE} (grants_of)":
            lambda: carechain.grants_of(patient.address, limit=GRANTS_PAGE),
        f"the audit trail's newest {AUDIT_PAGE} events (audit_trail)":
            lambda: carechain.audit_trail(patient.address, limit=AUDIT_PAGE),
    }
    rows = [f"Patient with {RECORDS:,} records and {GRANTS:,} grants:", "",
            "| operation | runs | p50 | p95 |", "|---|---:|---:|---:|"]
    for label, action in measures.items():
        samples = [timed(action)[0] for _ in range(RUNS)]
        rows.append(f"| {label} | {RUNS} | {percentile(samples, .5):.0f} ms | {percentile(samples, .95):.0f} ms |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def main() -> int:
    print(f"\n{on_own_stack(with_carechain(run))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
