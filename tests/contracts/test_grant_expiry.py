"""Grants end exactly at their expiry second: one second before it access holds; at it and after
it, calls and transactions are refused."""

import brownie
from brownie import chain
from conftest import NONE, VITALS, at_time, digest, mask, typed_error


def grant_until(registered, people, expires_at):
    registered.grantAccess(people.doctor, mask(VITALS), True, expires_at, NONE, {"from": people.patient})


def test_calls_see_access_until_the_expiry_second(registered, people):
    expires_at = chain.time() + 1000
    grant_until(registered, people, expires_at)
    seen = {}
    for offset in (-1, 0, 1):
        chain.mine(timestamp=expires_at + offset)
        assert chain[-1].timestamp == expires_at + offset
        seen[offset] = (
            registered.canAccess(people.patient, people.doctor, VITALS),
            registered.canWrite(people.patient, people.doctor, VITALS),
        )
    assert seen == {-1: (True, True), 0: (False, False), 1: (False, False)}


def test_write_one_second_before_expiry_is_accepted(registered, people):
    expires_at = chain.time() + 1000
    grant_until(registered, people, expires_at)
    at_time(expires_at - 1)
    tx = registered.addRecord(people.patient, digest("late but in time"), VITALS, {"from": people.doctor})
    assert tx.timestamp == expires_at - 1
    assert tx.events["RecordAdded"]["author"] == people.doctor


def test_write_at_expiry_second_is_refused(registered, people):
    expires_at = chain.time() + 1000
    grant_until(registered, people, expires_at)
    at_time(expires_at)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.doctor, VITALS)):
        registered.addRecord(people.patient, digest("too late"), VITALS, {"from": people.doctor})
    assert chain[-1].timestamp == expires_at
    assert registered.recordCount(people.patient) == 0


def test_write_after_expiry_is_refused(registered, people):
    expires_at = chain.time() + 1000
    grant_until(registered, people, expires_at)
    at_time(expires_at + 1)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.doctor, VITALS)):
        registered.addRecord(people.patient, digest("much too late"), VITALS, {"from": people.doctor})
    assert registered.recordCount(people.patient) == 0


def test_expired_grant_can_be_granted_afresh(registered, people):
    expires_at = chain.time() + 1000
    grant_until(registered, people, expires_at)
    at_time(expires_at)
    tx = registered.grantAccess(people.doctor, mask(VITALS), False, expires_at + 500, NONE, {"from": people.patient})
    assert tx.timestamp == expires_at
    assert registered.canAccess(people.patient, people.doctor, VITALS)
