"""The admin suspends and reinstates providers; a suspended provider, and every doctor of a
suspended hospital, loses all access until reinstated."""

import brownie
from conftest import VITALS, digest, grant, mask, typed_error


def test_admin_suspends_and_reinstates_a_doctor(registered, people):
    tx = registered.suspendProvider(people.doctor, {"from": people.admin})
    assert tx.events["ProviderSuspended"] == {"provider": people.doctor}
    assert registered.participantOf(people.doctor)["suspended"]
    assert not registered.isActiveProvider(people.doctor)

    tx = registered.reinstateProvider(people.doctor, {"from": people.admin})
    assert tx.events["ProviderReinstated"] == {"provider": people.doctor}
    assert registered.isActiveProvider(people.doctor)


def test_suspended_doctor_loses_access_until_reinstated(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), can_write=True)
    registered.suspendProvider(people.doctor, {"from": people.admin})

    assert not registered.canAccess(people.patient, people.doctor, VITALS)
    assert not registered.canWrite(people.patient, people.doctor, VITALS)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.doctor, VITALS)):
        registered.addRecord(people.patient, digest("x"), VITALS, {"from": people.doctor})

    registered.reinstateProvider(people.doctor, {"from": people.admin})
    assert registered.canAccess(people.patient, people.doctor, VITALS)
    assert registered.canWrite(people.patient, people.doctor, VITALS)


def test_suspended_hospital_cuts_off_its_doctors_direct_grants_too(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    grant(registered, people.patient, people.hospital, mask(VITALS))
    registered.suspendProvider(people.hospital, {"from": people.admin})

    assert not registered.isActiveProvider(people.hospital)
    assert not registered.isActiveProvider(people.doctor)
    assert not registered.canAccess(people.patient, people.hospital, VITALS)
    assert not registered.canAccess(people.patient, people.doctor, VITALS)
    assert not registered.canAccess(people.patient, people.colleague, VITALS)

    registered.reinstateProvider(people.hospital, {"from": people.admin})
    assert registered.canAccess(people.patient, people.doctor, VITALS)
    assert registered.canAccess(people.patient, people.colleague, VITALS)


def test_suspended_provider_cannot_be_granted(registered, people):
    registered.suspendProvider(people.doctor, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.doctor)):
        grant(registered, people.patient, people.doctor, mask(VITALS))


def test_only_admin_suspends_or_reinstates(registered, people):
    for caller in (people.patient, people.hospital, people.doctor):
        with brownie.reverts(typed_error("OwnableUnauthorizedAccount", caller)):
            registered.suspendProvider(people.colleague, {"from": caller})
    registered.suspendProvider(people.colleague, {"from": people.admin})
    with brownie.reverts(typed_error("OwnableUnauthorizedAccount", people.hospital)):
        registered.reinstateProvider(people.colleague, {"from": people.hospital})


def test_only_providers_can_be_suspended(registered, people):
    for account in (people.patient, people.stranger, people.admin):
        with brownie.reverts(typed_error("RegistryNotAProvider", account)):
            registered.suspendProvider(account, {"from": people.admin})
        with brownie.reverts(typed_error("RegistryNotAProvider", account)):
            registered.reinstateProvider(account, {"from": people.admin})


def test_suspension_state_must_change(registered, people):
    with brownie.reverts(typed_error("RegistryProviderNotSuspended", people.doctor)):
        registered.reinstateProvider(people.doctor, {"from": people.admin})
    registered.suspendProvider(people.doctor, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.doctor)):
        registered.suspendProvider(people.doctor, {"from": people.admin})
