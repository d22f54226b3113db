"""Reads are logged by an event-only transaction: the reader is the sender and the record must
exist. Only the patient, or a provider whose own grant (or, for a doctor, its hospital's grant)
covers the record's category, may log a read; a grant that expired at most READ_LOG_GRACE ago
still counts, so a read made just before an expiry is logged after it. A revoked grant does not."""

import brownie
from brownie import history
from conftest import LABS, VITALS, at_time, digest, grant, mask, typed_error

GRACE = 3600


def logged(tx, patient, reader, label):
    return tx.events["RecordRead"] == {"patient": patient, "reader": reader, "digest": "0x" + digest(label).hex()}


def expiry(registered, patient, grantee):
    return registered.grantOf(patient, grantee)["expiresAt"]


def test_grace_is_one_hour(registered):
    assert registered.READ_LOG_GRACE() == GRACE


def test_patient_logs_reading_own_record(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    tx = registered.logRead(people.patient, digest("bp"), {"from": people.patient})
    assert logged(tx, people.patient, people.patient, "bp")
    assert len(tx.events) == 1


def test_provider_with_own_grant_logs_a_read(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    for provider in (people.doctor, people.hospital):
        grant(registered, people.patient, provider, mask(VITALS))
        tx = registered.logRead(people.patient, digest("bp"), {"from": provider})
        assert logged(tx, people.patient, provider, "bp")
        assert len(tx.events) == 1


def test_doctor_logs_a_read_under_its_hospitals_grant(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.hospital, mask(VITALS))
    tx = registered.logRead(people.patient, digest("bp"), {"from": people.colleague})
    assert logged(tx, people.patient, people.colleague, "bp")


def test_accounts_without_a_grant_are_refused(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.other_patient, people.doctor, mask(VITALS))  # another patient's grant
    for reader in (people.stranger, people.other_patient, people.admin, people.doctor):
        with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, reader, digest("bp"))):
            registered.logRead(people.patient, digest("bp"), {"from": reader})


def test_providers_whose_grants_miss_the_category_are_refused(registered, people):
    """The doctor holds a LABS grant only, as does the other hospital; the hospital's VITALS grant
    reaches its own doctors, not a doctor of another hospital."""
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    grant(registered, people.patient, people.other_hospital, mask(LABS))
    for reader in (people.doctor, people.other_hospital, people.outsider):
        with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, reader, digest("bp"))):
            registered.logRead(people.patient, digest("bp"), {"from": reader})
    grant(registered, people.patient, people.hospital, mask(VITALS))
    for reader in (people.other_hospital, people.outsider):
        with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, reader, digest("bp"))):
            registered.logRead(people.patient, digest("bp"), {"from": reader})


def test_read_is_logged_within_the_grace_after_expiry(registered, people):
    """One second after the expiry, and at the last second of the grace, for an own grant and for
    a hospital's grant."""
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.outsider, mask(VITALS))  # its hospital has no grant
    grant(registered, people.patient, people.hospital, mask(VITALS), duration=31 * 86400)
    for reader, grantee in ((people.outsider, people.outsider), (people.colleague, people.hospital)):
        expires_at = expiry(registered, people.patient, grantee)
        for second in (expires_at + 1, expires_at + GRACE):
            at_time(second)
            tx = registered.logRead(people.patient, digest("bp"), {"from": reader})
            assert tx.timestamp == second
            assert logged(tx, people.patient, reader, "bp")


def test_read_is_refused_after_the_grace(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.outsider, mask(VITALS))  # its hospital has no grant
    grant(registered, people.patient, people.hospital, mask(VITALS), duration=31 * 86400)
    for reader, grantee in ((people.outsider, people.outsider), (people.colleague, people.hospital)):
        second = expiry(registered, people.patient, grantee) + GRACE + 1
        at_time(second)
        with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, reader, digest("bp"))):
            registered.logRead(people.patient, digest("bp"), {"from": reader})
        assert history[-1].timestamp == second


def test_read_is_refused_after_revocation(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    for reader, grantee in ((people.doctor, people.doctor), (people.colleague, people.hospital)):
        grant(registered, people.patient, grantee, mask(VITALS))
        registered.revokeAccess(grantee, {"from": people.patient})
        with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, reader, digest("bp"))):
            registered.logRead(people.patient, digest("bp"), {"from": reader})


def test_suspension_does_not_stop_logging(registered, people):
    """The read happened under a grant; logging it stays cheap and checks no suspension."""
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.hospital, mask(VITALS))
    registered.suspendProvider(people.hospital, {"from": people.admin})
    tx = registered.logRead(people.patient, digest("bp"), {"from": people.colleague})
    assert logged(tx, people.patient, people.colleague, "bp")


def test_read_of_unknown_record_is_refused(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("nope"))):
        registered.logRead(people.patient, digest("nope"), {"from": people.doctor})
    registered.addRecord(people.other_patient, digest("theirs"), VITALS, {"from": people.other_patient})
    for reader in (people.doctor, people.stranger):
        with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("theirs"))):
            registered.logRead(people.patient, digest("theirs"), {"from": reader})


def test_read_log_changes_no_state(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(VITALS))
    before = (registered.recordCount(people.patient), registered.recordOf(people.patient, digest("bp")),
              registered.grantOf(people.patient, people.doctor))
    registered.logRead(people.patient, digest("bp"), {"from": people.patient})
    registered.logRead(people.patient, digest("bp"), {"from": people.doctor})
    after = (registered.recordCount(people.patient), registered.recordOf(people.patient, digest("bp")),
             registered.grantOf(people.patient, people.doctor))
    assert after == before


def test_several_reads_are_logged_at_once_or_not_at_all(registered, people):
    for label in ("a", "b"):
        registered.addRecord(people.patient, digest(label), VITALS, {"from": people.patient})
    registered.addRecord(people.patient, digest("labs"), LABS, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(VITALS))
    tx = registered.logReads(people.patient, [digest("a"), digest("b")], {"from": people.doctor})
    assert [dict(event) for event in tx.events["RecordRead"]] == [
        {"patient": people.patient, "reader": people.doctor, "digest": "0x" + digest(label).hex()} for label in "ab"]
    with brownie.reverts(typed_error("RecordIndexUnauthorizedReader", people.patient, people.doctor, digest("labs"))):
        registered.logReads(people.patient, [digest("a"), digest("labs")], {"from": people.doctor})
