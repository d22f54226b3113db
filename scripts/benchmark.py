"""`make benchmark`: end-to-end latency and throughput of the library on a chain and IPFS node of
its own (started here, in a temporary folder), each figure printed beside its target, then where
the time of one read and one add goes.

- add: a patient adds a record of the given size (encrypt, sign, store and pin, index, mined);
- read: a doctor with a grant reads it (access check, fetch, re-hash, verify, decrypt);
- read + log: the same, plus the mined read-log transaction;
- sequential uploads: records/s for 1 KB records one patient adds one after another;
- concurrent uploads: records/s for 1 KB records that 8 patients add at once, each on a thread
  with its own connection (CareChain.connect).
"""

import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from eth_account import Account

from app.carechain import crypto
from app.carechain.flows import CareChain
from app.carechain.records import Category, document
from scripts import localchain, step_timing
from scripts.services import throwaway_stack

KB, MB = 1 << 10, 1 << 20
SIZES = [("1 KB", KB, 30), ("100 KB", 100 * KB, 30), ("1 MB", MB, 30), ("10 MB", 10 * MB, 8)]
SEQUENTIAL_UPLOADS = 60
WRITERS, UPLOADS_PER_WRITER = 8, 20
BREAKDOWN_RUNS = 20
BENCH_IPFS = dict(api_port=5202, gateway_port=9290, rpc_port=5203, swarm_port=4202)


@dataclass(frozen=True)
class Target:
    """A measured figure and its target: at most `limit` (times) or at least `limit` (rates)."""
    figure: str
    measured: float
    limit: float
    unit: str
    at_least: bool = False

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def row(self) -> str:
        digits = 0 if self.unit == "ms" else 1
        bound = ">=" if self.at_least else "<="
        return (f"| {self.figure} | {self.measured:,.{digits}f} {self.unit} | {bound} {self.limit:g} {self.unit} | "
                f"{'yes' if self.met else '**no**'} |")


def targets_table(targets: list[Target]) -> str:
    return "\n".join(["| figure | measured | target | met |", "|---|---:|---:|:---:|"] + [t.row() for t in targets])


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


def new_patient(carechain: CareChain, admin, doctor: str):
    """A funded, registered patient who granted `doctor` access to documents for 30 days."""
    patient = Account.create()
    carechain.fund(admin, patient.address, 10)
    carechain.register_patient(patient)
    carechain.grant(patient, doctor, [Category.DOCUMENTS], False, carechain.now() + 30 * 86400)
    return patient


def latencies(carechain: CareChain, patient, doctor) -> tuple[str, dict]:
    """The latency table, and the p50s the targets name ((size, operation) -> ms)."""
    rows = ["| record size | runs | add p50 | add p95 | read p50 | read p95 | read + log p50 |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    p50 = {}
    for label, size, runs in SIZES:
        adds, reads, logged = [], [], []
        for _ in range(runs):
            record = record_of(patient.address, size)
            elapsed, entry = timed(lambda: carechain.add_record(patient, patient.address, record))
            adds.append(elapsed)
            reads.append(timed(lambda: carechain.read_record(doctor, patient.address, entry.digest, log=False))[0])
            logged.append(timed(lambda: carechain.read_record(doctor, patient.address, entry.digest))[0])
        p50.update({(label, "add"): percentile(adds, .5), (label, "read"): percentile(reads, .5),
                    (label, "read + log"): percentile(logged, .5)})
        rows.append(f"| {label} | {runs} | {p50[label, 'add']:.0f} ms | {percentile(adds, .95):.0f} ms | "
                    f"{p50[label, 'read']:.0f} ms | {percentile(reads, .95):.0f} ms | "
                    f"{p50[label, 'read + log']:.0f} ms |")
        print(rows[-1], flush=True)
    return "\n".join(rows), p50


def sequential_uploads(carechain: CareChain, patient) -> float:
    """Records/s for 1 KB records added one after another by one patient."""
    records = [record_of(patient.address, KB) for _ in range(SEQUENTIAL_UPLOADS)]
    elapsed, _ = timed(lambda: [carechain.add_record(patient, patient.address, r) for r in records])
    return SEQUENTIAL_UPLOADS / (elapsed / 1000)


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) so far of this process, the chain and the IPFS node (children of
    this process, started by `on_own_stack`)."""
    spent = {"the library (this process)": sum(psutil.Process().cpu_times()[:2])}
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
            name = "the chain (Ganache)" if "ganache" in command else "the IPFS node" if "ipfs" in command else None
            if name:
                spent[name] = spent.get(name, 0.0) + sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return spent


def concurrent_uploads(settings, carechain: CareChain, admin, doctor: str) -> tuple[float, str]:
    """Records/s for 1 KB records added by WRITERS patients at once, each on its own thread with its
    own connection; the clock runs from when all are connected until the last record is mined.
    Also a table of the CPU time each process spent per record meanwhile: the machine's cores
    bound the rate at (cores / CPU seconds per record)."""
    patients = [new_patient(carechain, admin, doctor) for _ in range(WRITERS)]
    ready = threading.Barrier(WRITERS + 1)
    failures = []

    def upload(patient):
        records = [record_of(patient.address, KB) for _ in range(UPLOADS_PER_WRITER)]
        connection = CareChain.connect(settings)
        try:
            ready.wait()
            for record in records:
                connection.add_record(patient, patient.address, record)
        except Exception as error:  # reported below; a silent thread would inflate the rate
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    ready.wait()
    start, cpu_before = time.perf_counter(), cpu_seconds()
    for thread in threads:
        thread.join()
    elapsed, cpu_after = time.perf_counter() - start, cpu_seconds()
    if failures:
        raise RuntimeError(f"{len(failures)} of {WRITERS} writers failed, the first with: {failures[0]!r}")
    records = WRITERS * UPLOADS_PER_WRITER
    per_record = {name: (cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / records for name in cpu_after}
    total = sum(per_record.values())
    rows = [f"| {name} | {ms:.1f} ms | {ms / total:.0%} |" for name, ms in per_record.items()]
    cpu_table = ("| process | CPU per record | share |\n|---|---:|---:|\n" + "\n".join(rows)
                 + f"\n| all | {total:.1f} ms | 100% |\n\nWith {os.cpu_count()} cores busy only with this, "
                 f"{os.cpu_count() * 1000 / total:.0f} records/s is the most these processes could reach.")
    return records / elapsed, cpu_table


def step_breakdowns(carechain: CareChain, patient, doctor) -> str:
    """Where the time of a doctor's logged read and a patient's add of a 1 KB record goes."""
    entry = carechain.add_record(patient, patient.address, record_of(patient.address, KB))
    read = step_timing.breakdown("A doctor's read of a 1 KB record, logged", step_timing.READ_STEPS,
                                 lambda: carechain.read_record(doctor, patient.address, entry.digest), BREAKDOWN_RUNS)
    add = step_timing.breakdown("A patient's add of a 1 KB record, mined", step_timing.ADD_STEPS,
                                lambda: carechain.add_record(patient, patient.address, record_of(patient.address, KB)),
                                BREAKDOWN_RUNS)
    return f"{read}\n\n{add}"


def run(settings) -> str:
    carechain = CareChain.connect(settings)
    try:
        admin, hospital, doctor = (localchain.dev_account(i) for i in range(3))
        carechain.register_hospital(admin, hospital.address, crypto.public_key_of(hospital.key))
        carechain.register_doctor(admin, doctor.address, hospital.address, crypto.public_key_of(doctor.key))
        patient = new_patient(carechain, admin, doctor.address)
        table, p50 = latencies(carechain, patient, doctor)
        sequential = sequential_uploads(carechain, patient)
        print(f"sequential uploads: {sequential:.1f} records/s", flush=True)
        concurrent, cpu_table = concurrent_uploads(settings, carechain, admin, doctor.address)
        print(f"concurrent uploads: {concurrent:.1f} records/s", flush=True)
        targets = [
            Target("doctor's read of a 1 KB record, p50", p50["1 KB", "read"], 15, "ms"),
            Target("doctor's read of a 1 KB record with the mined read log, p50", p50["1 KB", "read + log"], 45, "ms"),
            Target("doctor's read of a 1 MB record, p50", p50["1 MB", "read"], 30, "ms"),
            Target("patient's add of a 1 KB record, mined, p50", p50["1 KB", "add"], 60, "ms"),
            Target("patient's add of a 1 MB record, mined, p50", p50["1 MB", "add"], 100, "ms"),
            Target(f"sequential 1 KB uploads, one patient ({SEQUENTIAL_UPLOADS} records)", sequential, 20,
                   "records/s", at_least=True),
            Target(f"1 KB uploads by {WRITERS} patients at once ({WRITERS} threads and connections, "
                   f"{WRITERS * UPLOADS_PER_WRITER} records)", concurrent, 50, "records/s", at_least=True),
        ]
        breakdowns = step_breakdowns(carechain, patient, doctor)
    finally:
        carechain.close()
    return (f"{table}\n\nTargets:\n\n{targets_table(targets)}\n\nCPU time per record while {WRITERS} patients "
            f"uploaded at once:\n\n{cpu_table}\n\n{breakdowns}")


def on_own_stack(run):
    """`run(settings)` on a fresh chain and IPFS node of its own (in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="carechain-bench-") as root:
        services, settings = throwaway_stack(Path(root), BENCH_IPFS)
        try:
            return run(settings)
        finally:
            services.stop()


def main() -> int:
    print(f"\n{on_own_stack(run)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
