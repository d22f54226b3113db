"""Device batches: authenticated by the device's secret and signature, replay-safe, checked reading
by reading (refusals counted), recorded one window at a time, scored with NEWS2 at once."""

import json
import random
import time

import pytest
from eth_account.messages import encode_defunct

from app.carechain.devices import device_account, secret_bytes
from app.carechain.errors import InvalidInput
from app.carechain.ingest import Replayed, Unauthorized
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now
from tests.e2e.library.test_concurrency import at_once, connections

WINDOW = 15 * 60


class Device:
    """A paired device posting batches straight to the library."""

    def __init__(self, carechain, people, patient, spo2_scale=1):
        self.carechain = carechain
        self.credential = carechain.pair_device(patient, "Bedside hub", "http://127.0.0.1/api/devices/readings",
                                                spo2_scale)
        carechain.fund(people.admin, self.credential.device, 1)
        self.account = device_account(secret_bytes(self.credential.secret), carechain._deployment)
        self.sequence = 0

    def send(self, readings, now=None, close=False, sequence=None, signer=None):
        now = int(time.time()) if now is None else now
        self.sequence = sequence or self.sequence + 1
        body = json.dumps({"device": self.account.address, "sequence": self.sequence, "sent_at": now,
                           "readings": readings, "close": close}).encode()
        signature = (signer or self.account).sign_message(encode_defunct(body)).signature.hex()
        return self.carechain.ingest(self.credential.secret, body, signature, now)


def reading(code, value, unit, at):
    return {"code": code, "value": value, "unit": unit, "measured_at": at}


def complete_set(at, respiration=16, spo2=97, systolic=120, pulse=70, consciousness="alert", temperature=36.8):
    """The seven NEWS2 parameters (on air)."""
    return [reading("respiration", respiration, "/min", at), reading("spo2", spo2, "%", at),
            reading("oxygen_flow", 0, "L/min", at), reading("blood_pressure", {"systolic": systolic, "diastolic": 80},
                                                            "mm[Hg]", at),
            reading("pulse", pulse, "/min", at), {"code": "consciousness", "value": consciousness, "measured_at": at},
            reading("temperature", temperature, "Cel", at)]


@pytest.fixture
def device(carechain, people, patient):
    return Device(carechain, people, patient)


def window_start(now):
    return now - now % WINDOW


def test_readings_of_a_window_become_one_record_when_it_ends(carechain, people, patient, device):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    start = window_start(int(time.time())) - 2 * WINDOW  # two windows ago, within the readings' 24 hours
    first = device.send([reading("pulse", 70 + i, "/min", start + 60 * i) for i in range(15)], now=start + WINDOW - 5)
    assert (first.accepted, first.refused, first.records) == (15, [], [])  # the window is still open
    second = device.send([reading("pulse", 80, "/min", start + WINDOW + 60)], now=start + WINDOW + 90)
    (recorded,) = second.records
    opened = carechain.read_record(people.doctor, patient.address, recorded.digest)
    assert opened.author_role == "device" and opened.record.resource_type == "Bundle"
    values = [entry["resource"]["valueQuantity"]["value"] for entry in opened.record.resource["entry"]]
    assert values == [70 + i for i in range(15)]
    closed = device.send([reading("pulse", 81, "/min", start + WINDOW + 70)], now=start + WINDOW + 100, close=True)
    assert len(closed.records) == 1 and closed.accepted == 1
    (listed,) = carechain.devices(patient.address)
    assert listed.accepted == 17 and listed.last_seen == start + WINDOW + 100


def test_bad_readings_are_refused_and_counted_the_good_ones_kept(carechain, patient, device):
    now = int(time.time())
    result = device.send([
        reading("pulse", 72, "/min", now),
        reading("heartbeat", 72, "/min", now),
        reading("pulse", 900, "/min", now),
        reading("temperature", 98.6, "[degF]", now),
        reading("pulse", 72, "/min", now + 3600),
        reading("spo2", "high", "%", now),
    ], now=now)
    assert result.accepted == 1
    assert [(r["index"], r["reason"]) for r in result.refused] == [
        (1, "unknown_code"), (2, "impossible_value"), (3, "wrong_unit"), (4, "clock_off"), (5, "not_a_number")]
    assert "Cel" in result.refused[2]["message"]
    (listed,) = carechain.devices(patient.address)
    assert listed.refused == {"unknown_code": 1, "impossible_value": 1, "wrong_unit": 1, "clock_off": 1,
                              "not_a_number": 1}


def test_batches_not_signed_by_the_device_or_replayed_are_refused_whole(carechain, people, patient, device):
    now = int(time.time())
    with pytest.raises(Unauthorized, match="not signed by the device"):
        device.send([reading("pulse", 72, "/min", now)], now=now, signer=people.doctor)
    device.send([reading("pulse", 72, "/min", now)], now=now, sequence=5)
    for sequence in (5, 4):
        with pytest.raises(Replayed, match="already received"):
            device.send([reading("pulse", 72, "/min", now)], now=now, sequence=sequence)
    with pytest.raises(InvalidInput, match="clock is -3600 s off"):
        carechain.ingest(device.credential.secret, *_signed(device, 7, now - 3600), now)
    with pytest.raises(Unauthorized, match="not signed by the device"):  # the body altered after signing
        body, signature = _signed(device, 8, now)
        carechain.ingest(device.credential.secret, body.replace(b"72", b"99"), signature, now)
    with pytest.raises(InvalidInput, match="secret is malformed"):
        carechain.ingest("not a secret", *_signed(device, 9, now), now)
    assert carechain.devices(patient.address)[0].accepted == 1


def _signed(device, sequence, sent_at):
    body = json.dumps({"device": device.account.address, "sequence": sequence, "sent_at": sent_at,
                       "readings": [reading("pulse", 72, "/min", sent_at)]}).encode()
    return body, device.account.sign_message(encode_defunct(body)).signature.hex()


def test_a_revoked_device_is_refused(carechain, patient, device):
    carechain.revoke_device(patient, device.account.address)
    with pytest.raises(Unauthorized, match="revoked"):
        device.send([reading("pulse", 72, "/min", int(time.time()))])


def test_windows_close_as_the_device_moves_on_or_falls_silent(carechain, patient, device):
    start = window_start(int(time.time())) - 3 * WINDOW
    # Five minutes past the window's end, from readings sent a little behind: still open, and
    # recorded once a reading a minute past its end arrives; what comes for it after that is late.
    first = device.send([reading("pulse", 70, "/min", start + 10)], now=start + WINDOW + 300)
    assert first.records == []
    second = device.send([reading("pulse", 71, "/min", start + 600), reading("pulse", 72, "/min", start + WINDOW + 60)],
                         now=start + WINDOW + 305)
    assert second.refused == [] and len(second.records) == 1
    late = device.send([reading("pulse", 73, "/min", start + 700)], now=start + WINDOW + 310)
    assert [r["reason"] for r in late.refused] == ["late"]
    # A window the device no longer adds to is recorded ten minutes after its end.
    silent = device.send([reading("spo2", 97, "%", start + WINDOW + 90)], now=start + 2 * WINDOW + 600)
    assert len(silent.records) == 1


def test_an_alert_reaches_exactly_the_doctors_with_live_vitals_grants(carechain, people, patient, device):
    carechain.grant(patient, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 1))
    carechain.grant(patient, people.outsider.address, [Category.LABS], False, days_from_now(carechain, 1))
    # Tests share one chain: providers also see other tests' patients' alerts, so count from here.
    waiting = {doctor: carechain.unacknowledged_alerts(doctor.address)
               for doctor in (people.doctor, people.colleague, people.outsider)}
    now = int(time.time())
    calm = device.send(complete_set(now - 60), now=now)
    assert calm.alert is None and calm.score.startswith("NEWS2 0")
    urgent = device.send(complete_set(now - 30, respiration=26), now=now + 1)  # a single parameter scores 3
    assert urgent.alert is not None and "urgent" in urgent.score
    again = device.send(complete_set(now - 20, respiration=26), now=now + 2)
    assert again.alert is None  # the same level within the hour: no second alert
    worse = device.send(complete_set(now - 10, respiration=26, spo2=91, pulse=135), now=now + 3)
    assert worse.alert is not None and "emergency" in worse.score
    for doctor in (people.doctor, people.colleague):  # the hospital's doctors
        assert carechain.unacknowledged_alerts(doctor.address) == waiting[doctor] + 2
        alerts = [alert for alert in carechain.alerts(doctor) if alert.patient == patient.address]
        assert [alert.level for alert in alerts] == ["emergency", "urgent"]
        assert any("respiration rate 26/min scores 3" in reason for reason in alerts[0].reasons)
    assert carechain.unacknowledged_alerts(patient.address) == 2
    assert carechain.unacknowledged_alerts(people.outsider.address) == waiting[people.outsider]
    assert not [alert for alert in carechain.alerts(people.outsider) if alert.patient == patient.address]
    carechain.acknowledge_alert(people.doctor, patient.address, worse.alert.digest)
    assert carechain.unacknowledged_alerts(people.colleague.address) == waiting[people.colleague] + 1
    (acknowledged,) = [alert for alert in carechain.alerts(people.colleague)
                       if alert.patient == patient.address and alert.acknowledged]
    assert acknowledged.acknowledgements[0][0] == people.doctor.address


def test_only_registered_alerts_are_acknowledged(carechain, people, patient, device):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    now = int(time.time())
    window = device.send([reading("pulse", 70, "/min", now - 5)], now=now, close=True)
    with pytest.raises(InvalidInput, match="no such alert"):
        carechain.acknowledge_alert(people.doctor, patient.address, window.records[0].digest)


def test_the_server_keeps_no_reading_in_the_clear(carechain, patient, device):
    device.send([reading("glucose", 13.7, "mmol/L", int(time.time()))])
    stored = (carechain.device_states.folder / f"{device.account.address}.json").read_text()
    assert "13.7" not in stored and "glucose" not in stored and device.credential.secret not in stored


def test_a_window_too_large_for_one_record_is_split(carechain, people, patient, device):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    now = int(time.time())
    rng = random.Random(7)
    strips = [{"code": "ecg", "value": [round(rng.uniform(-2, 2), 3) for _ in range(5000)], "unit": "mV",
               "period_ms": 2, "measured_at": now - 50 + i} for i in range(40)]  # about 1.4 MB of FHIR
    result = device.send(strips, now=now, close=True)
    assert result.accepted == 40 and len(result.records) >= 2
    opened = carechain.read_records(people.doctor, patient.address, [entry.digest for entry in result.records])
    assert sum(len(record.record.resource["entry"]) for record in opened) == 40


def test_a_device_paired_for_spo2_scale_2_scores_on_it(carechain, people, patient):
    device = Device(carechain, people, patient, spo2_scale=2)
    now = int(time.time())
    # 89% on air: target range on scale 2 (scores 0), 3 points on scale 1
    result = device.send(complete_set(now - 10, spo2=89), now=now)
    assert result.score.startswith("NEWS2 0") and result.alert is None


def test_one_batch_sent_twice_at_once_is_taken_once(carechain, stack, device):
    """A device retrying while its first try is still in flight: separate connections, as two web
    requests have; one is accepted, the other refused as replayed, and nothing counts twice."""
    now = int(time.time())
    body, signature = _signed(device, 1, now)
    clients = connections(stack, 2)
    try:
        outcomes = at_once([lambda c=c: c.ingest(device.credential.secret, body, signature, now) for c in clients])
    finally:
        for client in clients:
            client.close()
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["IngestResult", "Replayed"]
    assert carechain.devices(device.credential.patient)[0].accepted == 1
