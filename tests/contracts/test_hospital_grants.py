"""A grant to a hospital covers every active doctor of that hospital, and no one else; the
hospital account itself may read under it but never author records."""

import brownie
from conftest import LABS, VITALS, digest, grant, mask, typed_error


def test_hospital_grant_covers_its_doctors(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS), can_write=True)
    for doctor in (people.doctor, people.colleague):
        assert registered.canAccess(people.patient, doctor, VITALS)
        assert registered.canWrite(people.patient, doctor, VITALS)
        assert not registered.canAccess(people.patient, doctor, LABS)
    tx = registered.addRecord(people.patient, digest("ward note"), VITALS, {"from": people.colleague})
    assert tx.events["RecordAdded"]["author"] == people.colleague


def test_hospital_grant_does_not_reach_other_hospitals(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS), can_write=True)
    assert not registered.canAccess(people.patient, people.outsider, VITALS)
    assert not registered.canAccess(people.patient, people.other_hospital, VITALS)


def test_doctor_access_is_the_union_of_own_and_hospital_grants(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS))
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    assert registered.canAccess(people.patient, people.doctor, VITALS)
    assert registered.canAccess(people.patient, people.doctor, LABS)
    assert not registered.canWrite(people.patient, people.doctor, VITALS)
    assert registered.canWrite(people.patient, people.doctor, LABS)
    assert not registered.canAccess(people.patient, people.colleague, LABS)


def test_suspended_doctor_loses_hospital_grant_too(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS))
    registered.suspendProvider(people.doctor, {"from": people.admin})
    assert not registered.canAccess(people.patient, people.doctor, VITALS)
    assert registered.canAccess(people.patient, people.colleague, VITALS)


def test_hospital_account_reads_but_never_writes(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS), can_write=True)
    assert registered.canAccess(people.patient, people.hospital, VITALS)
    assert not registered.canWrite(people.patient, people.hospital, VITALS)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.hospital, VITALS)):
        registered.addRecord(people.patient, digest("from the front desk"), VITALS, {"from": people.hospital})


def test_revoking_the_hospital_grant_cuts_off_its_doctors(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS))
    registered.revokeAccess(people.hospital, {"from": people.patient})
    assert not registered.canAccess(people.patient, people.doctor, VITALS)
    assert not registered.canAccess(people.patient, people.colleague, VITALS)
