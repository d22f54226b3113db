"""Only the admin registers hospitals and doctors, each with a key that hashes to its address;
a doctor belongs to a registered, unsuspended hospital."""

import brownie
from conftest import public_key, typed_error

HOSPITAL, DOCTOR = 2, 3
ZERO = "0x0000000000000000000000000000000000000000"


def test_admin_registers_hospital(carechain, people):
    tx = carechain.registerHospital(people.hospital, public_key(people.hospital), {"from": people.admin})

    participant = carechain.participantOf(people.hospital)
    assert (participant["role"], participant["suspended"], participant["affiliation"]) == (HOSPITAL, False, ZERO)
    assert participant["registeredAt"] == tx.timestamp
    assert tx.events["HospitalRegistered"] == {
        "hospital": people.hospital,
        "publicKey": "0x" + public_key(people.hospital).hex(),
    }
    assert carechain.isActiveProvider(people.hospital)


def test_admin_registers_doctor_of_hospital(carechain, people):
    carechain.registerHospital(people.hospital, public_key(people.hospital), {"from": people.admin})
    tx = carechain.registerDoctor(people.doctor, people.hospital, public_key(people.doctor), {"from": people.admin})

    participant = carechain.participantOf(people.doctor)
    assert (participant["role"], participant["affiliation"]) == (DOCTOR, people.hospital)
    assert tx.events["DoctorRegistered"] == {
        "doctor": people.doctor,
        "hospital": people.hospital,
        "publicKey": "0x" + public_key(people.doctor).hex(),
    }
    assert carechain.isActiveProvider(people.doctor)


def test_non_admin_cannot_register_providers(registered, people):
    for caller in (people.patient, people.hospital, people.doctor, people.stranger):
        with brownie.reverts(typed_error("OwnableUnauthorizedAccount", caller)):
            registered.registerHospital(people.stranger, public_key(people.stranger), {"from": caller})
        with brownie.reverts(typed_error("OwnableUnauthorizedAccount", caller)):
            registered.registerDoctor(people.stranger, people.hospital, public_key(people.stranger), {"from": caller})
    assert registered.participantOf(people.stranger)["role"] == 0


def test_provider_key_must_hash_to_its_address(carechain, people):
    with brownie.reverts(typed_error("RegistryInvalidPublicKey", people.hospital)):
        carechain.registerHospital(people.hospital, public_key(people.stranger), {"from": people.admin})
    carechain.registerHospital(people.hospital, public_key(people.hospital), {"from": people.admin})
    with brownie.reverts(typed_error("RegistryInvalidPublicKey", people.doctor)):
        carechain.registerDoctor(people.doctor, people.hospital, public_key(people.hospital), {"from": people.admin})


def test_registering_a_registered_account_reverts(registered, people):
    with brownie.reverts(typed_error("RegistryAlreadyRegistered", people.hospital)):
        registered.registerHospital(people.hospital, public_key(people.hospital), {"from": people.admin})
    with brownie.reverts(typed_error("RegistryAlreadyRegistered", people.doctor)):
        registered.registerDoctor(people.doctor, people.hospital, public_key(people.doctor), {"from": people.admin})
    with brownie.reverts(typed_error("RegistryAlreadyRegistered", people.patient)):
        registered.registerHospital(people.patient, public_key(people.patient), {"from": people.admin})


def test_doctor_needs_a_registered_hospital(registered, people):
    for not_a_hospital in (people.stranger, people.doctor, people.patient):
        with brownie.reverts(typed_error("RegistryNotAHospital", not_a_hospital)):
            registered.registerDoctor(people.stranger, not_a_hospital, public_key(people.stranger), {"from": people.admin})


def test_doctor_cannot_join_a_suspended_hospital(registered, people):
    registered.suspendProvider(people.hospital, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.hospital)):
        registered.registerDoctor(people.stranger, people.hospital, public_key(people.stranger), {"from": people.admin})


def test_unknown_account_is_no_provider(registered, people):
    unknown = registered.participantOf(people.stranger)
    assert (unknown["role"], unknown["suspended"], unknown["registeredAt"], unknown["affiliation"]) == (0, False, 0, ZERO)
    assert not registered.isActiveProvider(people.stranger)
    assert not registered.isActiveProvider(people.patient)
