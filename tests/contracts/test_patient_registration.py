"""Patients register themselves once, with a public key that provably belongs to them."""

import brownie
from conftest import public_key, typed_error

PATIENT, NONE = 1, 0


def test_patient_registers_with_own_key(carechain, people):
    tx = carechain.registerPatient(public_key(people.patient), {"from": people.patient})

    participant = carechain.participantOf(people.patient)
    assert participant["role"] == PATIENT
    assert participant["registeredAt"] == tx.timestamp
    assert participant["recordCount"] == 0
    assert tx.events["PatientRegistered"] == {
        "patient": people.patient,
        "publicKey": "0x" + public_key(people.patient).hex(),
    }


def test_registering_twice_reverts(carechain, people):
    carechain.registerPatient(public_key(people.patient), {"from": people.patient})
    with brownie.reverts(typed_error("RegistryAlreadyRegistered", people.patient)):
        carechain.registerPatient(public_key(people.patient), {"from": people.patient})


def test_someone_elses_key_reverts(carechain, people):
    with brownie.reverts(typed_error("RegistryInvalidPublicKey", people.stranger)):
        carechain.registerPatient(public_key(people.patient), {"from": people.stranger})
    assert carechain.participantOf(people.stranger)["role"] == NONE


def test_malformed_key_reverts(carechain, people):
    key = public_key(people.patient)
    for malformed in (b"", key[:63], key + b"\x00", b"\x04" + key):
        with brownie.reverts(typed_error("RegistryInvalidPublicKey", people.patient)):
            carechain.registerPatient(malformed, {"from": people.patient})


def test_provider_cannot_register_as_patient(registered, people):
    with brownie.reverts(typed_error("RegistryAlreadyRegistered", people.doctor)):
        registered.registerPatient(public_key(people.doctor), {"from": people.doctor})
