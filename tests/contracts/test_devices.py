"""Devices: a patient pairs a device with its key; the device adds that patient's vitals records
only, until the patient revokes it for good. Devices read nothing and cannot be granted access."""

import brownie
from brownie import accounts
from conftest import DAY, LABS, VITALS, digest, grant, mask, public_key, typed_error

DEVICE = 4  # Role.Device


def paired(registered, people, device=None):
    device = device or accounts[10]
    registered.authorizeDevice(device, public_key(device), {"from": people.patient})
    return device


def test_a_patient_pairs_a_device(registered, people):
    device = accounts[10]
    tx = registered.authorizeDevice(device, public_key(device), {"from": people.patient})
    assert tx.events["DeviceAuthorized"] == {"patient": people.patient, "device": device,
                                             "publicKey": "0x" + public_key(device).hex()}
    participant = registered.participantOf(device)
    assert (participant["role"], participant["affiliation"], participant["suspended"]) == \
        (DEVICE, people.patient, False)


def test_a_device_adds_its_patients_vitals_only(registered, people):
    device = paired(registered, people)
    tx = registered.addRecord(people.patient, digest("pulse window"), VITALS, {"from": device})
    assert tx.events["RecordAdded"]["author"] == device
    assert registered.canWrite(people.patient, device, VITALS)
    for category in (LABS, 31):
        assert not registered.canWrite(people.patient, device, category)
        with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, device, category)):
            registered.addRecord(people.patient, digest("labs"), category, {"from": device})
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.other_patient, device, VITALS)):
        registered.addRecord(people.other_patient, digest("other"), VITALS, {"from": device})


def test_a_revoked_device_adds_nothing_and_stays_revoked(registered, people):
    device = paired(registered, people)
    tx = registered.revokeDevice(device, {"from": people.patient})
    assert tx.events["DeviceRevoked"] == {"patient": people.patient, "device": device}
    assert not registered.canWrite(people.patient, device, VITALS)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, device, VITALS)):
        registered.addRecord(people.patient, digest("after"), VITALS, {"from": device})
    with brownie.reverts(typed_error("DevicesAlreadyRevoked", device)):
        registered.revokeDevice(device, {"from": people.patient})
    with brownie.reverts(typed_error("RegistryAlreadyRegistered", device)):
        registered.authorizeDevice(device, public_key(device), {"from": people.patient})


def test_only_its_patient_revokes_a_device(registered, people):
    device = paired(registered, people)
    for caller in (people.other_patient, people.doctor, people.admin, device):
        with brownie.reverts(typed_error("DevicesNotYourDevice", caller, device)):
            registered.revokeDevice(device, {"from": caller})
    with brownie.reverts(typed_error("DevicesNotYourDevice", people.patient, people.doctor)):
        registered.revokeDevice(people.doctor, {"from": people.patient})


def test_only_patients_pair_devices_with_their_own_key(registered, people):
    device = accounts[10]
    for caller in (people.doctor, people.hospital, people.stranger):
        with brownie.reverts(typed_error("RegistryNotAPatient", caller)):
            registered.authorizeDevice(device, public_key(device), {"from": caller})
    with brownie.reverts(typed_error("RegistryInvalidPublicKey", device)):
        registered.authorizeDevice(device, public_key(accounts[11]), {"from": people.patient})
    with brownie.reverts(typed_error("RegistryAlreadyRegistered", people.doctor)):
        registered.authorizeDevice(people.doctor, public_key(people.doctor), {"from": people.patient})


def test_a_device_reads_nothing_and_cannot_be_granted(registered, people):
    device = paired(registered, people)
    registered.addRecord(people.patient, digest("window"), VITALS, {"from": device})
    assert not registered.canAccess(people.patient, device, VITALS)
    assert registered.recordAccessOf(people.patient, digest("window"), device)[1] == 0
    with brownie.reverts(typed_error("RegistryNotAProvider", device)):
        grant(registered, people.patient, device, mask(VITALS), duration=DAY)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, device, digest("window"))):
        registered.logRead(people.patient, digest("window"), {"from": device})
