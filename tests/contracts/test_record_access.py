"""recordAccessOf: a record's entry and the second at which a reader's access to it ends, in one
call, decided as canAccess decides."""

from brownie import chain
from conftest import DAY, LABS, VITALS, digest, grant, mask

FOREVER = 2**40 - 1


def added(carechain, people, category=VITALS, label="record"):
    carechain.addRecord(people.patient, digest(label), category, {"from": people.patient})
    return digest(label)


def test_the_patient_reads_its_own_records_without_end(registered, people):
    record = added(registered, people)
    entry, until = registered.recordAccessOf(people.patient, record, people.patient)
    assert entry[0] == people.patient and entry[1] == VITALS and until == FOREVER


def test_an_unknown_record_has_no_author_and_no_access(registered, people):
    entry, until = registered.recordAccessOf(people.patient, digest("never added"), people.patient)
    assert entry[0] == "0x" + "00" * 20 and until == 0


def test_a_grant_covering_the_category_gives_its_expiry(registered, people):
    record = added(registered, people)
    tx = grant(registered, people.patient, people.doctor, mask(VITALS), duration=5 * DAY)
    expires_at = tx.events["AccessGranted"]["expiresAt"]
    assert registered.recordAccessOf(people.patient, record, people.doctor)[1] == expires_at
    assert registered.recordAccessOf(people.patient, added(registered, people, LABS, "labs"), people.doctor)[1] == 0


def test_a_doctor_gets_the_later_of_its_own_and_its_hospitals_grant(registered, people):
    record = added(registered, people)
    own = grant(registered, people.patient, people.doctor, mask(VITALS), duration=2 * DAY).events["AccessGranted"]
    hospital = grant(registered, people.patient, people.hospital, mask(VITALS), duration=9 * DAY).events["AccessGranted"]
    assert registered.recordAccessOf(people.patient, record, people.doctor)[1] == hospital["expiresAt"]
    assert own["expiresAt"] < hospital["expiresAt"]
    assert registered.recordAccessOf(people.patient, record, people.outsider)[1] == 0  # another hospital's doctor


def test_expiry_suspension_and_revocation_end_it(registered, people):
    record = added(registered, people)
    grant(registered, people.patient, people.hospital, mask(VITALS), duration=DAY)
    registered.suspendProvider(people.hospital, {"from": people.admin})
    assert registered.recordAccessOf(people.patient, record, people.colleague)[1] == 0  # its hospital is suspended
    registered.reinstateProvider(people.hospital, {"from": people.admin})
    assert registered.recordAccessOf(people.patient, record, people.colleague)[1] != 0
    registered.revokeAccess(people.hospital, {"from": people.patient})
    assert registered.recordAccessOf(people.patient, record, people.colleague)[1] == 0
    grant(registered, people.patient, people.doctor, mask(VITALS), duration=DAY)
    chain.sleep(DAY + 1)
    chain.mine()
    assert registered.recordAccessOf(people.patient, record, people.doctor)[1] == 0


def test_it_agrees_with_can_access(registered, people):
    record = added(registered, people)
    grant(registered, people.patient, people.hospital, mask(VITALS), duration=DAY)
    for reader in (people.patient, people.hospital, people.doctor, people.outsider, people.stranger, people.admin):
        until = registered.recordAccessOf(people.patient, record, reader)[1]
        assert (until != 0) == registered.canAccess(people.patient, reader, VITALS)
