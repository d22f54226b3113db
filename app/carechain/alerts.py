"""Early-warning alerts: which records are alerts, who sees them, who acknowledged them.

An alert is an encrypted record like any other: a FHIR Bundle of the readings scored and the
RiskAssessment, which a device adds in the vitals category, so exactly those who may read the
patient's vitals get its key. The chain cannot tell an
alert from a window of readings, so the server keeps a register of which records are alerts: the
patient's address, the record's digest and the second it was raised; nothing about the patient's
condition. Acknowledgements are on chain (`acknowledgeAlert`), in the patient's audit trail.
"""

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from app.carechain import early_warning, vitals
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.model import RecordEntry, checksum
from app.carechain.records import Category, Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    patient TEXT NOT NULL, digest BLOB NOT NULL, raised_at INTEGER NOT NULL, PRIMARY KEY (patient, digest));
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (patient, raised_at);
"""


class AlertRegister:
    """The register's SQLite file; one connection per process and file, shared by threads."""

    _open: dict[Path, "AlertRegister"] = {}
    _opening = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> "AlertRegister":
        path = Path(path).resolve()
        with cls._opening:
            if path not in cls._open:
                cls._open[path] = cls(path)
            return cls._open[path]

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def add(self, patient: str, digest: bytes, raised_at: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO alerts VALUES (?, ?, ?)", (patient, bytes(digest), raised_at))

    def has(self, patient: str, digest: bytes) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM alerts WHERE patient = ? AND digest = ?",
                                    (patient, bytes(digest))).fetchone() is not None

    def of(self, patients: list[str], limit: int = 100) -> list[tuple[str, bytes, int]]:
        """(patient, digest, raised_at) of the newest `limit` alerts of `patients`, newest first."""
        marks = ",".join("?" * len(patients)) or "NULL"
        with self._lock:
            return self._db.execute(f"SELECT patient, digest, raised_at FROM alerts WHERE patient IN ({marks}) "
                                    "ORDER BY raised_at DESC LIMIT ?", (*patients, limit)).fetchall()


@dataclass(frozen=True)
class Alert:
    patient: str
    entry: RecordEntry
    raised_at: int
    summary: str  # e.g. "NEWS2 7: emergency response"
    level: str  # urgent or emergency
    reasons: tuple[str, ...]
    response: str  # what to do, as NEWS2 says
    acknowledgements: tuple[tuple[str, int], ...]  # (doctor, second), oldest first

    @property
    def acknowledged(self) -> bool:
        return bool(self.acknowledgements)


class AlertFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, index and the alert register."""

    def raise_alert(self, device: LocalAccount, patient: str, score: early_warning.Score, readings: list,
                    at: int) -> RecordEntry:
        """Adds the alert of `score` as the device's record, with the readings it scored (so that
        they are charted at once, not only when their window is recorded), and registers it."""
        observations = vitals.observations_of(patient, device.address, readings, score.spo2_scale)
        risk = early_warning.risk_assessment(patient, score, at, [vitals.full_url(o) for o in observations])
        first = min((reading.measured_at for reading in readings), default=at)
        last = max((reading.measured_at for reading in readings), default=at)
        bundle = vitals.window_bundle(patient, observations, min(first, at), max(last, at), alert=risk)
        record = Record.from_fhir(bundle, created_at=at)
        entry = self.add_record(device, patient, record)
        self.alert_register.add(patient, entry.digest, at)
        return entry

    def alert_patients(self, account: str) -> list[str]:
        """Whose alerts `account` sees: a patient its own; a doctor or hospital those of the patients
        whose live grant to it (or its hospital) covers vitals, unless it is suspended."""
        account = checksum(account)
        standing = self.indexed().standing(account)  # the menu's count: the index as caught up
        if standing is None or standing[0] not in ("patient", "doctor", "hospital"):
            return []
        role, hospital, suspended = standing
        if role == "patient":
            return [account]
        if suspended or (hospital and self.index.standing(hospital)[2]):
            return []
        now = self.now()
        return list(dict.fromkeys(access.patient for access in self.patients_of(account)
                                  if access.grant.active(now) and Category.VITALS in access.grant.categories))

    def unacknowledged_alerts(self, account: str) -> int:
        """How many alerts `account` sees that no doctor has acknowledged yet (for the menu)."""
        patients = self.alert_patients(account)  # catches the event index up
        if not patients:
            return 0
        acknowledged = {patient: self.index.acknowledgements(patient) for patient in patients}
        return sum(bytes(digest) not in acknowledged[patient] for patient, digest, _ in self.alert_register.of(patients))

    def alerts(self, reader: LocalAccount, limit: int = 50) -> list[Alert]:
        """The newest alerts `reader` sees, opened (a provider's reads logged on chain, one
        transaction per patient); alerts whose record cannot be opened are left out."""
        patients = self.alert_patients(reader.address)  # catches the event index up
        registered = self.alert_register.of(patients, limit)
        found = []
        for patient in dict.fromkeys(patient for patient, _, _ in registered):
            digests = [bytes(digest) for p, digest, _ in registered if p == patient]
            raised = {bytes(digest): at for p, digest, at in registered if p == patient}
            try:
                opened = self.read_records(reader, patient, digests)
            except (AccessDenied, IntegrityError, InvalidInput):
                continue
            acknowledgements = self.index.acknowledgements(patient)
            found += [_alert(record, risk, raised[record.entry.digest], acknowledgements.get(record.entry.digest, []))
                      for record in opened if (risk := _risk_assessment(record.record.resource))]
        return sorted(found, key=lambda alert: alert.raised_at, reverse=True)

    def acknowledge_alert(self, doctor: LocalAccount, patient: str, digest: bytes) -> None:
        patient = checksum(patient)
        if not self.alert_register.has(patient, digest):
            raise InvalidInput("there is no such alert")
        self.chain.transact(doctor, "acknowledgeAlert", patient, bytes(digest))


def _risk_assessment(resource: dict) -> dict | None:
    """The RiskAssessment of an alert record (a Bundle of the readings scored and the assessment)."""
    if resource.get("resourceType") == "RiskAssessment":
        return resource
    found = [entry["resource"] for entry in resource.get("entry", [])
             if entry.get("resource", {}).get("resourceType") == "RiskAssessment"]
    return found[0] if found else None


def _alert(opened, resource: dict, raised_at: int, acknowledgements) -> Alert:
    level, rationale = early_warning.alert_level(resource)
    summary = rationale or opened.record.title
    notes = tuple(note["text"] for note in resource.get("note", []))
    return Alert(opened.entry.patient, opened.entry, raised_at, summary, level, notes, resource.get("mitigation", ""),
                 tuple(acknowledgements))
