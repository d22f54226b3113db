"""Pairing a device: its key comes from the credential's secret, the chain authorizes it for its
patient's vitals only, the patient revokes it for good; the server keeps no secret or key."""

import pytest

from app.carechain.devices import DeviceCredential, device_account, secret_bytes
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.records import Category, condition
from tests.e2e.helpers import days_from_now, pulse

API = "http://127.0.0.1/api/devices/readings"


def paired(carechain, people, patient, label="Bedside hub"):
    credential = carechain.pair_device(patient, label, API)
    carechain.fund(people.admin, credential.device, 1)
    return credential, device_account(secret_bytes(credential.secret), carechain._deployment)


def test_pairing_gives_a_credential_whose_secret_derives_the_authorized_key(carechain, people, patient):
    credential, device = paired(carechain, people, patient)
    assert (credential.patient, credential.api, device.address) == (patient.address, API, credential.device)
    assert DeviceCredential.from_json(credential.to_json()) == credential
    on_chain = carechain.participant(device.address)
    assert (on_chain.role, on_chain.patient, on_chain.suspended) == ("device", patient.address, False)
    (listed,) = carechain.devices(patient.address)
    assert (listed.address, listed.label, listed.revoked, listed.accepted) == (device.address, "Bedside hub", False, 0)
    stored = (carechain.device_states.folder / f"{device.address}.json").read_text()
    assert credential.secret not in stored and device.key.hex()[2:] not in stored


def test_a_device_adds_its_patients_vitals_which_doctors_read_as_the_devices(carechain, people, patient):
    _, device = paired(carechain, people, patient)
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    entry = carechain.add_record(device, patient.address, pulse(patient, 88))
    assert entry.author == device.address
    opened = carechain.read_record(people.doctor, patient.address, entry.digest)
    assert (opened.author, opened.author_role) == (device.address, "device")


def test_a_device_adds_nothing_else(carechain, people, patient, new_patient):
    _, device = paired(carechain, people, patient)
    with pytest.raises(AccessDenied, match="a device may only add vitals records"):
        carechain.add_record(device, patient.address, condition(patient.address, "Asthma"))
    other = new_patient()
    with pytest.raises(AccessDenied, match="belongs to another patient"):
        carechain.add_record(device, other.address, pulse(other))


def test_a_revoked_device_adds_nothing_and_only_its_patient_revokes(carechain, people, patient, new_patient):
    _, device = paired(carechain, people, patient)
    with pytest.raises(TransactionFailed, match="not a device of|DevicesNotYourDevice|device"):
        carechain.revoke_device(new_patient(), device.address)
    carechain.revoke_device(patient, device.address)
    assert carechain.devices(patient.address)[0].revoked
    with pytest.raises(AccessDenied, match="revoked"):
        carechain.add_record(device, patient.address, pulse(patient))


def test_a_device_needs_a_name(carechain, patient):
    for label in ("", "   ", "x" * 61):
        with pytest.raises(InvalidInput, match="name the device"):
            carechain.pair_device(patient, label, API)
