"""Readings from paired devices: each batch is authenticated, checked reading by reading, grouped
into one encrypted vitals record per time window (a day of readings costs a handful of
transactions), and scored with NEWS2 as it arrives, an alert being raised at once.

A batch is the JSON object
    {"device": "0x…", "sequence": 17, "sent_at": 1795440000, "readings": [reading, …], "close": false}
(readings as vitals.validate_reading takes them), sent with the device's secret (see devices.py)
and its EIP-191 signature of the exact body. `sequence` must grow from batch to batch, so a batch
replayed or reordered is refused; `close` ends the open windows now (a device going offline).
Readings of a window the device already closed are refused as late.
"""

import json
import time
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.messages import encode_defunct

from app.carechain import early_warning, vitals
from app.carechain.devices import DeviceState, device_account, sealing_key, secret_bytes
from app.carechain.errors import AccessDenied, InvalidInput
from app.carechain.model import RecordEntry
from app.carechain.records import Record

MAX_READINGS = 1_000  # per batch
MAX_CLOCK_SKEW = 5 * 60  # seconds between a batch's sent_at and the server's clock
# A window is recorded once the device has sent a reading measured CLOSE_GRACE after its end (it
# has moved on; readings of sensors a little behind still fit), or, for a device that no longer adds
# to it, once the server's clock is CLOSE_AFTER past its end.
CLOSE_GRACE = 60
CLOSE_AFTER = 10 * 60
ALERT_REPEAT = 60 * 60  # an alert of the same level is raised again after this long


class Unauthorized(AccessDenied):
    """The batch is not from a paired device: wrong secret, signature or device."""


class Replayed(InvalidInput):
    """The batch's sequence number is not above the last one accepted."""


@dataclass
class IngestResult:
    accepted: int = 0
    refused: list[dict] = field(default_factory=list)  # {"index", "reason", "message"} per refused reading
    records: list[RecordEntry] = field(default_factory=list)  # windows recorded by this batch
    alert: RecordEntry | None = None
    score: str = ""  # NEWS2 of the latest complete set, or what it lacks

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "refused": self.refused,
                "records": [entry.cid for entry in self.records],
                "alert": self.alert.cid if self.alert else None, "score": self.score}


class IngestFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, settings and device states."""

    def ingest(self, secret: str, body: bytes, signature: str, now: int | None = None) -> IngestResult:
        """Handles one batch of a device (see the module's docstring); raises Unauthorized,
        Replayed or InvalidInput for a batch refused as a whole, which changes nothing."""
        now = int(time.time()) if now is None else now
        secret = secret_bytes(secret)
        device = device_account(secret, self._deployment)
        batch = _batch(body)
        if batch["device"] != device.address or _signer(body, signature) != device.address:
            raise Unauthorized("the batch is not signed by the device its credential names")
        participant = self.participant(device.address)
        if participant is None or participant.role != "device":
            raise Unauthorized("this device is not paired")
        if participant.suspended:
            raise Unauthorized("this device was revoked by its patient")
        if abs(batch["sent_at"] - now) > MAX_CLOCK_SKEW:
            raise InvalidInput(f"the device's clock is {batch['sent_at'] - now:+d} s off the server's: set it right")
        key, patient = sealing_key(secret, self._deployment), participant.patient
        with self.device_states.lock(device.address):
            state = self.device_states.get(device.address) or DeviceState(label="(unnamed device)")
            if batch["sequence"] <= state.sequence:
                raise Replayed(f"batch {batch['sequence']} was already received (the last was {state.sequence})")
            working = state.open(key, device.address)
            readings = [_reading(stored) for stored in working.get("readings", [])]
            recorded_until = working.get("recorded_until", 0)
            result = IngestResult()
            for index, raw in enumerate(batch["readings"]):
                try:
                    reading = vitals.validate_reading(raw, now)
                    if reading.measured_at < recorded_until:
                        raise vitals.InvalidReading("its window was already recorded: send readings sooner", "late")
                except vitals.InvalidReading as refusal:
                    result.refused.append({"index": index, "reason": refusal.reason, "message": str(refusal)})
                    continue
                readings.append(reading)
                result.accepted += 1
            readings.sort(key=lambda reading: reading.measured_at)
            scale = working.get("spo2_scale", 1)
            recorded_until = self._record_windows(device, patient, readings, recorded_until, now, batch["close"],
                                                  scale, result)
            alert = self._score(device, patient, readings, working.get("alert"), now, scale, result)
            window = self.settings.vitals_window
            working = {"readings": [_stored(r) for r in readings if r.measured_at >= min(recorded_until, now - window)],
                       "recorded_until": recorded_until, "alert": alert, "spo2_scale": scale}
            state.sequence, state.accepted, state.last_seen = batch["sequence"], state.accepted + result.accepted, now
            for refusal in result.refused:
                state.refused[refusal["reason"]] = state.refused.get(refusal["reason"], 0) + 1
            state.seal(key, device.address, working)
            self.device_states.put(device.address, state)
        return result

    def _record_windows(self, device, patient: str, readings: list, recorded_until: int, now: int, close: bool,
                        spo2_scale: int, result: IngestResult) -> int:
        """Adds a record for each window of unrecorded readings that has ended (see CLOSE_GRACE; all
        of them if `close`); returns up to when readings are recorded."""
        window = self.settings.vitals_window
        latest = readings[-1].measured_at if readings else 0
        pending: dict[int, list] = {}
        for reading in readings:
            if reading.measured_at >= recorded_until:
                pending.setdefault(reading.measured_at - reading.measured_at % window, []).append(reading)
        for start in sorted(pending):
            end = start + window
            ended = end + CLOSE_GRACE <= latest or end + CLOSE_AFTER <= now
            if not ended and not close:
                break
            last = pending[start][-1].measured_at
            period_end = min(end, max(last, now))
            result.records += self._add_window(device, patient, pending[start], start, period_end, spo2_scale)
            recorded_until = end if period_end == end else last + 1
        return recorded_until

    def _add_window(self, device, patient: str, readings: list, start: int, end: int,
                    spo2_scale: int) -> list[RecordEntry]:
        """The window's readings as one record, or as several if one would be too large (a device
        sending long ECG strips often). Deterministic, so a batch tried again adds nothing twice."""
        bundle = vitals.window_bundle(patient, vitals.observations_of(patient, device.address, readings, spo2_scale),
                                      start, end)
        try:
            record = Record.from_fhir(bundle, created_at=end)
        except InvalidInput:
            if len(readings) == 1:
                raise
            half = len(readings) // 2
            return (self._add_window(device, patient, readings[:half], start, end, spo2_scale)
                    + self._add_window(device, patient, readings[half:], start, end, spo2_scale))
        return [self.add_record(device, patient, record)]

    def _score(self, device, patient: str, readings: list, last_alert, now: int, spo2_scale: int,
               result: IngestResult):
        """Scores the latest complete set of the last window's length; raises an alert when it
        calls for an urgent response or more, unless the same level was raised less than
        ALERT_REPEAT ago. Returns what to remember of the last alert ([level, second] or None)."""
        score = early_warning.score_window(readings, now - self.settings.vitals_window, now, spo2_scale)
        if isinstance(score, early_warning.Incomplete):
            result.score = score.message
            return last_alert
        result.score = score.summary
        if score.level < early_warning.Level.URGENT:
            return None
        if last_alert and score.level <= last_alert[0] and now - last_alert[1] < ALERT_REPEAT:
            return last_alert
        scored = [reading for reading in readings if reading.measured_at >= now - self.settings.vitals_window]
        result.alert = self.raise_alert(device, patient, score, scored, now)
        return [int(score.level), now]


def _batch(body: bytes) -> dict:
    try:
        batch = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the batch is not JSON") from None
    if not isinstance(batch, dict):
        raise InvalidInput("the batch must be a JSON object")
    readings, sequence, sent_at = batch.get("readings"), batch.get("sequence"), batch.get("sent_at")
    if not isinstance(readings, list) or not 0 < len(readings) <= MAX_READINGS:
        raise InvalidInput(f"the batch needs a list of 1 to {MAX_READINGS} readings")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise InvalidInput("the batch needs a sequence number: a whole number from 1, higher than the last batch's")
    return {"device": str(batch.get("device", "")), "sequence": sequence, "readings": readings,
            "sent_at": vitals.parse_time(sent_at, "sent_at"), "close": batch.get("close") is True}


def _signer(body: bytes, signature: str) -> str | None:
    try:
        return Account.recover_message(encode_defunct(body), signature=bytes.fromhex(signature.removeprefix("0x")))
    except (ValueError, TypeError, AttributeError):
        return None


def _stored(reading: vitals.Reading) -> list:
    value = list(reading.value) if isinstance(reading.value, tuple) else reading.value
    return [reading.signal, value, reading.unit, reading.measured_at, reading.period_ms]


def _reading(stored: list) -> vitals.Reading:
    signal, value, unit, measured_at, period_ms = stored
    return vitals.Reading(signal, tuple(value) if isinstance(value, list) else value, unit, measured_at, period_ms)
