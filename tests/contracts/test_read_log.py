"""Reads are logged by an event-only transaction: the reader is the sender, the record must exist,
and no grant is checked, so a read made just before an expiry is still logged after it."""

import brownie
from brownie import chain
from conftest import VITALS, digest, grant, mask, typed_error


def test_read_is_logged_with_reader_and_record(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(VITALS))
    tx = registered.logRead(people.patient, digest("bp"), {"from": people.doctor})
    assert tx.events["RecordRead"] == {
        "patient": people.patient,
        "reader": people.doctor,
        "digest": "0x" + digest("bp").hex(),
    }
    assert len(tx.events) == 1


def test_read_of_unknown_record_is_refused(registered, people):
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("nope"))):
        registered.logRead(people.patient, digest("nope"), {"from": people.doctor})
    registered.addRecord(people.other_patient, digest("theirs"), VITALS, {"from": people.other_patient})
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("theirs"))):
        registered.logRead(people.patient, digest("theirs"), {"from": people.doctor})


def test_read_is_logged_after_the_grant_expired(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(VITALS))
    chain.mine(timestamp=registered.grantOf(people.patient, people.doctor)["expiresAt"] + 1)
    tx = registered.logRead(people.patient, digest("bp"), {"from": people.doctor})
    assert tx.events["RecordRead"]["reader"] == people.doctor


def test_read_log_changes_no_state(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    before = (registered.recordCount(people.patient), registered.recordOf(people.patient, digest("bp")))
    registered.logRead(people.patient, digest("bp"), {"from": people.patient})
    assert (registered.recordCount(people.patient), registered.recordOf(people.patient, digest("bp"))) == before
