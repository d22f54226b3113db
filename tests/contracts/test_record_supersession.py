"""A correction or a re-encryption supersedes a record: the old entry stays, marked with the
number of its successor, which inherits its category."""

import brownie
from conftest import LABS, VITALS, digest, grant, mask, typed_error


def superseded_by(registered, patient, label):
    return registered.recordOf(patient, digest(label))["supersededBy"]


def test_patient_supersedes_own_record(registered, people):
    registered.addRecord(people.patient, digest("v1"), LABS, {"from": people.patient})
    tx = registered.supersedeRecord(people.patient, digest("v1"), digest("v2"), {"from": people.patient})

    assert tx.events["RecordAdded"]["number"] == 2
    assert tx.events["RecordAdded"]["category"] == LABS
    assert tx.events["RecordSuperseded"] == {
        "patient": people.patient,
        "oldDigest": "0x" + digest("v1").hex(),
        "newDigest": "0x" + digest("v2").hex(),
    }
    assert superseded_by(registered, people.patient, "v1") == 2
    assert superseded_by(registered, people.patient, "v2") == 0
    assert registered.recordOf(people.patient, digest("v2"))["category"] == LABS


def test_patient_supersedes_a_doctors_record(registered, people):
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    registered.addRecord(people.patient, digest("v1"), LABS, {"from": people.doctor})
    registered.supersedeRecord(people.patient, digest("v1"), digest("v2"), {"from": people.patient})
    assert superseded_by(registered, people.patient, "v1") == 2


def test_doctor_supersedes_own_record_with_write_grant(registered, people):
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    registered.addRecord(people.patient, digest("v1"), LABS, {"from": people.doctor})
    tx = registered.supersedeRecord(people.patient, digest("v1"), digest("v2"), {"from": people.doctor})
    assert tx.events["RecordAdded"]["author"] == people.doctor


def test_doctor_cannot_supersede_someone_elses_record(registered, people):
    grant(registered, people.patient, people.hospital, mask(LABS), can_write=True)
    registered.addRecord(people.patient, digest("v1"), LABS, {"from": people.colleague})
    registered.addRecord(people.patient, digest("own"), LABS, {"from": people.patient})
    for label in ("v1", "own"):
        with brownie.reverts(typed_error("RecordIndexNotRecordAuthor", people.patient, digest(label), people.doctor)):
            registered.supersedeRecord(people.patient, digest(label), digest("v2"), {"from": people.doctor})


def test_author_needs_a_live_write_grant_to_supersede(registered, people):
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    registered.addRecord(people.patient, digest("v1"), LABS, {"from": people.doctor})
    registered.revokeAccess(people.doctor, {"from": people.patient})
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.doctor, LABS)):
        registered.supersedeRecord(people.patient, digest("v1"), digest("v2"), {"from": people.doctor})
    assert superseded_by(registered, people.patient, "v1") == 0


def test_record_is_superseded_only_once(registered, people):
    registered.addRecord(people.patient, digest("v1"), VITALS, {"from": people.patient})
    registered.supersedeRecord(people.patient, digest("v1"), digest("v2"), {"from": people.patient})
    with brownie.reverts(typed_error("RecordIndexAlreadySuperseded", people.patient, digest("v1"))):
        registered.supersedeRecord(people.patient, digest("v1"), digest("v3"), {"from": people.patient})


def test_unknown_record_cannot_be_superseded(registered, people):
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("nope"))):
        registered.supersedeRecord(people.patient, digest("nope"), digest("v2"), {"from": people.patient})
    assert registered.recordCount(people.patient) == 0


def test_successor_must_be_new(registered, people):
    registered.addRecord(people.patient, digest("v1"), VITALS, {"from": people.patient})
    registered.addRecord(people.patient, digest("other"), VITALS, {"from": people.patient})
    with brownie.reverts(typed_error("RecordIndexDuplicateRecord", people.patient, digest("other"))):
        registered.supersedeRecord(people.patient, digest("v1"), digest("other"), {"from": people.patient})
    with brownie.reverts(typed_error("RecordIndexDuplicateRecord", people.patient, digest("v1"))):
        registered.supersedeRecord(people.patient, digest("v1"), digest("v1"), {"from": people.patient})
    assert superseded_by(registered, people.patient, "v1") == 0
