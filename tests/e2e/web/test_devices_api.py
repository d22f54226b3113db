"""The patient's device pages (pair, credential once, revoke) and the ingestion API a device posts
to: JSON answers, each refusal with its reason, nothing changed by a refused batch."""

import json
import re
import time

import pytest
from eth_account.messages import encode_defunct

from app.carechain.devices import DeviceCredential, device_account, secret_bytes
from tests.e2e.helpers import text


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def pair(me, carechain, label="Bedside hub"):
    page = text(me.post("/patient/devices/", {"label": label}))
    credential = DeviceCredential.from_json(re.search(r'<pre class="credential" id="credential">(.*?)</pre>', page,
                                                      re.S).group(1).replace("&#34;", '"').replace("&quot;", '"'))
    return page, credential, device_account(secret_bytes(credential.secret), carechain._deployment)


def post_batch(client, credential, device, readings, sequence=1, sign=True, sent_at=None):
    body = json.dumps({"device": device.address, "sequence": sequence, "sent_at": sent_at or int(time.time()),
                       "readings": readings}).encode()
    headers = {"Authorization": f"CareChain-Device {credential.secret}", "Content-Type": "application/json"}
    if sign:
        headers["CareChain-Signature"] = device.sign_message(encode_defunct(body)).signature.hex()
    return client.post("/api/devices/readings", data=body, headers=headers)


def test_pairing_shows_the_credential_once_and_lists_the_device(me, carechain):
    page, credential, device = pair(me, carechain)
    assert "shown this once" in page and credential.api.endswith("/api/devices/readings")
    assert credential.patient == me.address and 'download="carechain-device-' in page
    listing = text(me.get("/patient/devices/"))
    assert "Bedside hub" in listing and device.address in listing and credential.secret not in listing
    assert carechain.chain.w3.eth.get_balance(device.address) > 0  # funded for its transactions


def test_a_device_posts_readings_and_gets_each_refusal_explained(me, visitor, carechain):
    _, credential, device = pair(me, carechain)
    now = int(time.time())
    response = post_batch(visitor.client, credential, device, [
        {"code": "pulse", "value": 72, "unit": "/min", "measured_at": now},
        {"code": "pulse", "value": 72, "unit": "bpm", "measured_at": now},
    ])
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["accepted"] == 1 and answer["refused"][0]["reason"] == "wrong_unit"
    assert "/min" in answer["refused"][0]["message"]
    assert "1 wrong unit" in text(me.get("/patient/devices/"))


@pytest.mark.parametrize("change, status, reason", [
    ({"sign": False}, 401, "unauthorized"),
    ({"sequence": 0}, 400, "refused"),
    ({"sent_at": 1}, 400, "refused"),
    ({"readings": []}, 400, "refused"),
])
def test_bad_batches_are_refused_whole_in_json(me, visitor, carechain, change, status, reason):
    _, credential, device = pair(me, carechain)
    readings = change.pop("readings", [{"code": "pulse", "value": 72, "unit": "/min", "measured_at": int(time.time())}])
    response = post_batch(visitor.client, credential, device, readings, **change)
    assert response.status_code == status and response.get_json()["reason"] == reason
    assert response.get_json()["error"].endswith(".")
    assert carechain.devices(me.address)[0].accepted == 0


def test_a_replayed_batch_and_a_revoked_device_are_refused(me, visitor, carechain):
    _, credential, device = pair(me, carechain)
    reading = [{"code": "pulse", "value": 72, "unit": "/min", "measured_at": int(time.time())}]
    assert post_batch(visitor.client, credential, device, reading, sequence=3).status_code == 200
    replay = post_batch(visitor.client, credential, device, reading, sequence=3)
    assert replay.status_code == 409 and replay.get_json()["reason"] == "replayed"
    response = me.post(f"/patient/devices/{device.address}/revoke", follow_redirects=True)
    assert "The device is revoked" in text(response) and "revoked</span>" in text(response)
    refused = post_batch(visitor.client, credential, device, reading, sequence=4)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["error"]


def test_only_the_patient_pairs_and_revokes(as_user, people, visitor, me, carechain):
    _, _, device = pair(me, carechain)
    doctor = as_user(people.doctor)
    assert doctor.get("/patient/devices/").status_code == 302
    assert doctor.post(f"/patient/devices/{device.address}/revoke").status_code == 302
    assert visitor.client.post("/api/devices/readings", data="{}").status_code == 401
    assert not carechain.devices(me.address)[0].revoked


def test_a_device_paired_for_spo2_scale_2_scores_on_it(me, visitor, carechain):
    page = text(me.post("/patient/devices/", {"label": "Oximeter", "spo2_scale_2": "y"}))
    credential = DeviceCredential.from_json(re.search(r'<pre class="credential" id="credential">(.*?)</pre>', page,
                                                      re.S).group(1).replace("&#34;", '"').replace("&quot;", '"'))
    device = device_account(secret_bytes(credential.secret), carechain._deployment)
    at = int(time.time()) - 5
    readings = [{"code": "respiration", "value": 16, "unit": "/min", "measured_at": at},
                {"code": "spo2", "value": 89, "unit": "%", "measured_at": at},
                {"code": "oxygen_flow", "value": 0, "unit": "L/min", "measured_at": at},
                {"code": "blood_pressure", "value": {"systolic": 120, "diastolic": 80}, "unit": "mm[Hg]",
                 "measured_at": at},
                {"code": "pulse", "value": 70, "unit": "/min", "measured_at": at},
                {"code": "consciousness", "value": "alert", "measured_at": at},
                {"code": "temperature", "value": 36.8, "unit": "Cel", "measured_at": at}]
    answer = post_batch(visitor.client, credential, device, readings).get_json()
    assert answer["score"].startswith("NEWS2 0")  # 89% is in scale 2's target range
