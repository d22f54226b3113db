"""`make benchmark`: end-to-end latency and throughput of the library on a chain and IPFS node of
its own (started here, in a temporary folder), printed as a markdown table.

- add: a patient adds a record of the given size (encrypt, sign, store and pin, index, mined);
- read: a doctor with a grant reads it (access check, fetch, re-hash, verify, decrypt);
- read + log: the same, plus the mined read-log transaction;
- small uploads: records/s for a run of 1 KB records added one after another.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account

from app.carechain import crypto
from app.carechain.flows import CareChain
from app.carechain.records import Category, document
from scripts import localchain
from scripts.services import throwaway_stack

SIZES = [("1 KB", 1 << 10, 30), ("100 KB", 100 << 10, 30), ("1 MB", 1 << 20, 30), ("10 MB", 10 << 20, 8)]
SMALL_UPLOADS = 60
TARGETS = {"1 MB": ("<= 300 ms", "<= 100 ms")}
BENCH_IPFS = dict(api_port=5202, gateway_port=9290, rpc_port=5203, swarm_port=4202)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return (time.perf_counter() - start) * 1000, result


def record_of(patient: str, size: int):
    data = b"%PDF-" + os.urandom(size - 5)
    return document(patient, "benchmark", data, "application/pdf")


def run(carechain: CareChain) -> str:
    admin, hospital, doctor = (localchain.dev_account(i) for i in range(3))
    carechain.register_hospital(admin, hospital.address, crypto.public_key_of(hospital.key))
    carechain.register_doctor(admin, doctor.address, hospital.address, crypto.public_key_of(doctor.key))
    patient = Account.create()
    carechain.fund(admin, patient.address, 10)
    carechain.register_patient(patient)
    carechain.grant(patient, doctor.address, [Category.DOCUMENTS], False, carechain.now() + 30 * 86400)

    rows = ["| record size | runs | add p50 | add p95 | read p50 | read p95 | read + log p50 | target add / read p50 |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for label, size, runs in SIZES:
        adds, reads, logged = [], [], []
        for _ in range(runs):
            record = record_of(patient.address, size)
            elapsed, entry = timed(lambda: carechain.add_record(patient, patient.address, record))
            adds.append(elapsed)
            reads.append(timed(lambda: carechain.read_record(doctor, patient.address, entry.digest, log=False))[0])
            logged.append(timed(lambda: carechain.read_record(doctor, patient.address, entry.digest))[0])
        add_target, read_target = TARGETS.get(label, ("-", "-"))
        rows.append(
            f"| {label} | {runs} | {percentile(adds, .5):.0f} ms | {percentile(adds, .95):.0f} ms | "
            f"{percentile(reads, .5):.0f} ms | {percentile(reads, .95):.0f} ms | {percentile(logged, .5):.0f} ms | "
            f"{add_target} / {read_target} |"
        )
        print(rows[-1], flush=True)

    records = [record_of(patient.address, 1 << 10) for _ in range(SMALL_UPLOADS)]
    elapsed, _ = timed(lambda: [carechain.add_record(patient, patient.address, r) for r in records])
    throughput = f"{SMALL_UPLOADS / (elapsed / 1000):.1f} records/s ({SMALL_UPLOADS} sequential 1 KB uploads)"
    return "\n".join(rows) + f"\n\nSmall uploads: {throughput}."


def on_own_stack(run):
    """`run(settings)` on a fresh chain and IPFS node of its own (in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="carechain-bench-") as root:
        services, settings = throwaway_stack(Path(root), BENCH_IPFS)
        try:
            return run(settings)
        finally:
            services.stop()


def with_carechain(run):
    """Adapts `run(carechain)` to `on_own_stack`."""
    def connected(settings):
        carechain = CareChain.connect(settings)
        try:
            return run(carechain)
        finally:
            carechain.close()
    return connected


def main() -> int:
    print(f"\n{on_own_stack(with_carechain(run))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
