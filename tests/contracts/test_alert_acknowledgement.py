"""A doctor whose grant covers a record (as for logging a read) acknowledges it as an alert; the
chain records who and when, and refuses everyone else."""

import brownie
from conftest import LABS, VITALS, digest, grant, mask, typed_error


def test_a_covered_doctor_acknowledges(registered, people):
    registered.addRecord(people.patient, digest("alert"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.hospital, mask(VITALS))
    tx = registered.acknowledgeAlert(people.patient, digest("alert"), {"from": people.colleague})
    assert tx.events["AlertAcknowledged"] == {"patient": people.patient, "digest": "0x" + digest("alert").hex(),
                                              "doctor": people.colleague}


def test_nobody_else_acknowledges(registered, people):
    registered.addRecord(people.patient, digest("alert"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.hospital, mask(VITALS))
    grant(registered, people.patient, people.outsider, mask(LABS))
    for caller in (people.hospital, people.outsider, people.patient, people.stranger):
        with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, caller, digest("alert"))):
            registered.acknowledgeAlert(people.patient, digest("alert"), {"from": caller})
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("none"))):
        registered.acknowledgeAlert(people.patient, digest("none"), {"from": people.doctor})
