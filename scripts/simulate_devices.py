"""Simulated bedside hubs for the demo patients: pairs one device per patient, then posts a signed
batch of readings to the web app's ingestion API (POST /api/devices/readings) every interval, as
a real hub would, so the demo shows records, NEWS2 scores and alerts arriving.

Each batch holds one reading per sensor, a little noisy around the patient's own baseline: pulse,
SpO2, respiration, temperature, blood pressure, oxygen flow (0: air), consciousness, position, a
2-second ECG strip, and now and then a glucose. After a calm phase one patient (Ada by default)
deteriorates over a few batches, like early sepsis: NEWS2 climbs to an urgent response, then to an
emergency one (oxygen started, new confusion), after which she recovers. Every answer is printed:
readings accepted and refused, the score, the alert raised.

Alongside `make run` (which creates the demo patients), in a second terminal:

    .venv/bin/python -m scripts.simulate_devices --interval 5 --calm 3

or let `make run SIMULATE=1` start it (every 10 s, one-minute vitals windows). The credentials live
in this process only, never on disk: each run pairs new devices (revoking the simulated ones of
earlier runs, whose secrets died with them). Ctrl-C stops it.
"""

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass

import requests
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from app.carechain.devices import DeviceCredential, device_account, secret_bytes
from app.carechain.errors import CareChainError
from app.carechain.flows import CareChain
from app.carechain.settings import Settings
from scripts import demo, localchain

LABEL = "Bedside hub (simulated)"
DEMO_PATIENTS = {name.split()[-1].lower(): index for _, index, name, role, _ in demo.PEOPLE if role == "patient"}
BURST_SPACING = 60  # seconds between the readings of batches sent at once (--interval 0)
GLUCOSE_EVERY = 5  # batches: a finger-prick now and then, not a continuous sensor
ECG_SECONDS, ECG_PERIOD_MS = 2, 4  # a 2 s strip at 250 Hz
NOISE = {"respiration": 1, "spo2": 1, "pulse": 3, "systolic": 4, "diastolic": 3, "temperature": 0.1, "glucose": 0.3}
BASELINES = [  # one per patient, in turn: calm values, NEWS2 0 whatever the noise
    {"respiration": 15, "spo2": 97, "pulse": 74, "systolic": 124, "diastolic": 80, "temperature": 36.8,
     "glucose": 5.6},
    {"respiration": 14, "spo2": 98, "pulse": 64, "systolic": 132, "diastolic": 84, "temperature": 36.6,
     "glucose": 6.8},
]
# The episode's stages, one per batch; each keeps its NEWS2 level under any noise (see NOISE).
EARLY = {"respiration": 19, "spo2": 97, "pulse": 96, "systolic": 116, "temperature": 37.8}  # 1: low
URGENT = {"respiration": 22, "spo2": 95, "pulse": 105, "systolic": 106, "temperature": 38.4}  # 5-6: urgent
EMERGENCY = {"respiration": 26, "spo2": 92, "oxygen": 2, "pulse": 125, "systolic": 96, "temperature": 39.2}  # 13+
CRITICAL = {"respiration": 30, "spo2": 89, "oxygen": 4, "pulse": 135, "systolic": 88, "temperature": 39.4,
            "consciousness": "confusion"}
EPISODE = [("early signs", EARLY), ("deteriorating", URGENT), ("deteriorating", EMERGENCY),
           ("deteriorating", CRITICAL), ("critical", CRITICAL), ("recovering on oxygen", EMERGENCY),
           ("recovering", URGENT), ("recovering", EARLY)]
POSITIONS = ["lying", "sitting", "standing"]  # a move goes to a neighbour: no standing-to-lying "fall"


class SimulatorError(RuntimeError):
    pass


@dataclass
class Bedside:
    """One patient's simulated hub: its key, its sequence numbers and the patient's state."""

    name: str
    credential: DeviceCredential  # in memory only
    account: LocalAccount
    baseline: dict
    episode_from: int | None  # the batch the episode starts at; None: always calm
    position: str = "sitting"
    sequence: int = 0

    def stage(self, batch: int) -> tuple[str, dict]:
        step = batch - self.episode_from if self.episode_from is not None else -1
        return EPISODE[step] if 0 <= step < len(EPISODE) else ("calm", {})


@dataclass
class Answer:
    patient: str
    batch: int
    stage: str
    status: int
    body: dict  # the server's JSON answer


def readings(bedside: Bedside, batch: int, at: int, rng: random.Random) -> list[dict]:
    """One reading per sensor at `at` (Unix seconds): the stage's values, or the baseline's, plus noise."""
    stage = bedside.stage(batch)[1]
    target = {**bedside.baseline, **stage}
    diastolic = target["diastolic"] - (bedside.baseline["systolic"] - target["systolic"]) // 2

    def noisy(key, value=None, decimals=0):
        value = target[key] if value is None else value
        return round(value + rng.uniform(-NOISE[key], NOISE[key]), decimals or None)  # None: an int

    if stage:
        bedside.position = "lying"
    elif rng.random() < 0.2:
        here = POSITIONS.index(bedside.position)
        bedside.position = POSITIONS[max(0, min(2, here + rng.choice((-1, 1))))]
    pulse = noisy("pulse")
    sent = [
        {"code": "pulse", "value": pulse, "unit": "/min"},
        {"code": "spo2", "value": min(100, noisy("spo2")), "unit": "%"},
        {"code": "respiration", "value": noisy("respiration"), "unit": "/min"},
        {"code": "temperature", "value": noisy("temperature", decimals=1), "unit": "Cel"},
        {"code": "blood_pressure", "value": {"systolic": noisy("systolic"), "diastolic": noisy("diastolic", diastolic)},
         "unit": "mm[Hg]"},
        {"code": "oxygen_flow", "value": target.get("oxygen", 0), "unit": "L/min"},
        {"code": "consciousness", "value": target.get("consciousness", "alert")},
        {"code": "position", "value": bedside.position},
        {"code": "ecg", "value": ecg_strip(pulse, rng), "period_ms": ECG_PERIOD_MS, "unit": "mV"},
    ]
    if batch % GLUCOSE_EVERY == 0:
        sent.append({"code": "glucose", "value": noisy("glucose", decimals=1), "unit": "mmol/L"})
    return [{**reading, "measured_at": at} for reading in sent]


def ecg_strip(pulse: float, rng: random.Random) -> list[float]:
    """A synthetic lead II strip (mV): P, QRS and T waves as Gaussians at `pulse` beats a minute,
    with a slow baseline wander and a little noise."""
    beat = 60 / pulse
    waves = [(0.15 * beat, 0.12, 0.025), (0.26 * beat, -0.1, 0.01), (0.28 * beat, 1.1, 0.012),
             (0.30 * beat, -0.25, 0.012), (0.55 * beat, 0.3, 0.05)]  # (centre s, height mV, width s)
    samples = []
    for index in range(ECG_SECONDS * 1000 // ECG_PERIOD_MS):
        t = index * ECG_PERIOD_MS / 1000
        within = t % beat
        value = sum(height * math.exp(-((within - centre) / width) ** 2 / 2) for centre, height, width in waves)
        samples.append(round(value + 0.05 * math.sin(2 * math.pi * 0.3 * t) + rng.gauss(0, 0.015), 3))
    return samples


def pair(carechain: CareChain, funder: LocalAccount, name: str, patient: LocalAccount, index: int, url: str,
         episode_from: int | None) -> Bedside:
    """Pairs and funds a new simulated hub for `patient`, revoking those of earlier runs."""
    try:
        for device in carechain.devices(patient.address):
            if device.label == LABEL and not device.revoked:
                carechain.revoke_device(patient, device.address)
        credential = carechain.pair_device(patient, LABEL, f"{url}/api/devices/readings")
        carechain.fund(funder, credential.device, 1)
    except CareChainError as error:
        raise SimulatorError(f"could not pair a device for {name} ({patient.address}): {error}") from error
    account = device_account(secret_bytes(credential.secret), carechain._deployment)
    print(f"paired {LABEL!r} for {name}: device {account.address}", flush=True)
    return Bedside(name, credential, account, BASELINES[index % len(BASELINES)], episode_from)


def post(bedside: Bedside, batch: int, at: int, rng: random.Random) -> Answer:
    """Signs and posts one batch; a connection failure is a SimulatorError."""
    bedside.sequence += 1
    body = json.dumps({"device": bedside.account.address, "sequence": bedside.sequence, "sent_at": int(time.time()),
                       "readings": readings(bedside, batch, at, rng)}).encode()
    signature = bedside.account.sign_message(encode_defunct(body)).signature
    headers = {"Content-Type": "application/json", "Authorization": f"CareChain-Device {bedside.credential.secret}",
               "CareChain-Signature": "0x" + bytes(signature).hex()}
    try:
        response = requests.post(bedside.credential.api, data=body, headers=headers, timeout=60)
    except requests.RequestException as error:
        raise SimulatorError(f"the web app stopped answering at {bedside.credential.api}: {error}") from error
    try:
        answer = response.json()
    except ValueError:
        answer = {"error": response.text[:200]}
    return Answer(bedside.name, batch, bedside.stage(batch)[0], response.status_code, answer)


def describe(answer: Answer) -> str:
    body = answer.body
    if answer.status != 200:
        return f"refused whole ({answer.status}): {body.get('error')}"
    parts = [f"{body['accepted']} accepted"]
    if body["refused"]:
        parts.append(f"{len(body['refused'])} refused ({body['refused'][0]['message']})")
    parts.append(body["score"])
    if body["records"]:
        parts.append(f"{len(body['records'])} window record(s) added")
    if body["alert"]:
        parts.append(f"ALERT raised, record {body['alert']}")
    return " · ".join(parts)


def simulate(carechain: CareChain, funder: LocalAccount, patients: dict[str, LocalAccount], url: str, *,
             deteriorating: str | None, calm: int = 3, interval: float = 60, batches: int | None = None) -> list[Answer]:
    """Pairs a hub per patient (funded by `funder`) and posts a batch per patient every `interval`
    seconds, `batches` times (None: until interrupted). Interval 0 sends them at once, their
    readings BURST_SPACING apart and ending now, so the server scores them as a real stream."""
    if interval == 0 and batches is None:
        raise SimulatorError("an interval of 0 sends batches at once: say how many with --batches")
    url = url.rstrip("/")
    try:
        requests.get(f"{url}/", timeout=10)
    except requests.RequestException:
        raise SimulatorError(f"the web app is not reachable at {url}: start it (`make run`) or pass --url") from None
    bedsides = [pair(carechain, funder, name, account, index, url, calm if name == deteriorating else None)
                for index, (name, account) in enumerate(patients.items())]
    pace = f"every {interval:g} s" if interval else f"at once, {BURST_SPACING} s of readings apart"
    print(f"posting to {url}/api/devices/readings {pace}"
          + (f"; {deteriorating} deteriorates from batch {calm + 1}" if deteriorating else ""), flush=True)
    answers, start, batch, rng = [], time.time(), 0, random.Random()
    while bedsides and (batches is None or batch < batches):
        at = int(start) - (batches - 1 - batch) * BURST_SPACING if interval == 0 else int(time.time())
        for bedside in list(bedsides):
            answer = post(bedside, batch, at, rng)
            answers.append(answer)
            print(f"{time.strftime('%H:%M:%S')} {bedside.name:<4} #{batch + 1:<3} {answer.stage:<21} "
                  f"{describe(answer)}", flush=True)
            if answer.status == 401:  # revoked by the patient in the web app, most likely
                bedsides.remove(bedside)
            elif answer.status == 404:
                raise SimulatorError(f"{bedside.credential.api} answered 404: this web app has no ingestion API")
            elif answer.status not in (200, 503):  # 503: the chain or IPFS is down for now; try the next batch
                raise SimulatorError(f"the server refused {bedside.name}'s batch: {answer.body.get('error')}")
        batch += 1
        if interval and (batches is None or batch < batches):
            time.sleep(max(0.0, start + batch * interval - time.time()))
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('CARECHAIN_WEB_PORT', 5000)}",
                        help="the web app (default: that of `make run`, CARECHAIN_WEB_PORT or 5000)")
    parser.add_argument("--patients", nargs="+", choices=list(DEMO_PATIENTS), default=list(DEMO_PATIENTS),
                        help="the demo patients to stream for (default: all)")
    parser.add_argument("--deteriorate", choices=[*DEMO_PATIENTS, "none"],
                        help="who has the episode of deterioration (default: the first patient)")
    parser.add_argument("--interval", type=float, default=60,
                        help="seconds between batches (default 60; 0: all at once, needs --batches)")
    parser.add_argument("--calm", type=int, default=3, help="calm batches before the deterioration (default 3)")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--batches", type=int, help="stop after this many batches per patient (default: never)")
    stop.add_argument("--once", action="store_const", const=1, dest="batches", help="send one batch and stop")
    options = parser.parse_args(argv)
    under_a_second = options.interval != 0 and options.interval < 1  # readings are timed to the second
    if under_a_second or options.calm < 0 or (options.batches is not None and options.batches < 1):
        parser.error("--interval takes 0, or 1 s or more; --calm 0 or more; --batches 1 or more")
    if options.deteriorate not in (None, "none", *options.patients):
        parser.error(f"--deteriorate {options.deteriorate}: stream for that patient too (--patients)")
    deteriorating = (options.deteriorate or options.patients[0]).capitalize()
    patients = {name.capitalize(): localchain.dev_account(DEMO_PATIENTS[name]) for name in options.patients}
    try:
        carechain = CareChain.connect(Settings.from_environment())
    except CareChainError as error:
        print(f"error: {error} (is `make run` running?)", file=sys.stderr)
        return 1
    try:
        simulate(carechain, localchain.dev_account(demo.FAUCET_INDEX), patients, options.url,
                 deteriorating=None if deteriorating == "None" else deteriorating, calm=options.calm,
                 interval=options.interval, batches=options.batches)
    except KeyboardInterrupt:
        print("\ndevice simulator stopped", flush=True)
    except (SimulatorError, CareChainError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        carechain.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
