"""canAccess, canAccessEach and canWrite answer for the patient itself and for anyone without a grant."""

from conftest import VITALS, grant, mask


def test_patient_reads_and_writes_own_records(registered, people):
    assert registered.canAccess(people.patient, people.patient, VITALS)
    assert registered.canWrite(people.patient, people.patient, 31)
    assert not registered.canAccess(people.patient, people.patient, 32)


def test_nobody_has_access_without_a_grant(registered, people):
    for reader in (people.doctor, people.hospital, people.admin, people.stranger, people.other_patient):
        assert not registered.canAccess(people.patient, reader, VITALS)
        assert not registered.canWrite(people.patient, reader, VITALS)


def test_unregistered_account_has_no_records_to_open(registered, people):
    assert not registered.canAccess(people.stranger, people.stranger, VITALS)
    assert not registered.canAccess(people.doctor, people.doctor, VITALS)


def test_checks_are_free_calls(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS))
    assert registered.canAccess.call(people.patient, people.colleague, VITALS)
    assert registered.canAccess.abi["stateMutability"] == "view"
    assert registered.canWrite.abi["stateMutability"] == "view"


def test_can_access_each_answers_as_can_access_for_every_reader(registered, people):
    grant(registered, people.patient, people.hospital, mask(VITALS))
    readers = [people.patient, people.hospital, people.colleague, people.outsider, people.stranger, people.colleague]
    assert registered.canAccessEach(people.patient, readers, VITALS) == [
        registered.canAccess(people.patient, reader, VITALS) for reader in readers]
    assert registered.canAccessEach(people.patient, readers, VITALS) == [True, True, True, False, False, True]
    assert registered.canAccessEach(people.patient, readers, 32) == [False] * len(readers)
    assert registered.canAccessEach(people.patient, [], VITALS) == []
    assert registered.canAccessEach.abi["stateMutability"] == "view"
