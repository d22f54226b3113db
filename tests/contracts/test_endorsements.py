"""Endorsements: a registered, unsuspended doctor or hospital that may read a record now endorses
it, once, unless it wrote it; a superseded record can no longer be endorsed and its replacement
starts with none, which is how an endorsement ends."""

import brownie
from conftest import CONDITIONS, LABS, digest, grant, mask, typed_error

RESULT = digest("lab result")


def lab_result(registered, people, author=None):
    """A lab result of the patient written by `author` (a doctor with a write grant), or by the
    patient; the hospital may read it through its own grant."""
    author = author or people.patient
    if author != people.patient:
        grant(registered, people.patient, author, mask(LABS), can_write=True)
    registered.addRecord(people.patient, RESULT, LABS, {"from": author})
    grant(registered, people.patient, people.hospital, mask(LABS))


def endorse(registered, people, provider, record=RESULT):
    return registered.endorseRecord(people.patient, record, {"from": provider})


def test_a_doctor_and_a_hospital_endorse_a_record(registered, people):
    lab_result(registered, people, people.doctor)
    for provider in (people.colleague, people.hospital):  # the colleague reads through the hospital's grant
        tx = endorse(registered, people, provider)
        assert tx.events["RecordEndorsed"] == {"patient": people.patient, "digest": "0x" + RESULT.hex(),
                                               "provider": provider}
        assert registered.endorsed(people.patient, RESULT, provider)
    assert not registered.endorsed(people.patient, RESULT, people.doctor)
    assert not registered.endorsed(people.other_patient, RESULT, people.hospital)


def test_one_endorsement_per_provider_and_record(registered, people):
    lab_result(registered, people)
    endorse(registered, people, people.hospital)
    with brownie.reverts(typed_error("EndorsementsAlreadyEndorsed", people.patient, RESULT, people.hospital)):
        endorse(registered, people, people.hospital)


def test_the_author_does_not_endorse_its_own_record(registered, people):
    lab_result(registered, people, people.doctor)
    with brownie.reverts(typed_error("EndorsementsOwnRecord", people.patient, RESULT, people.doctor)):
        endorse(registered, people, people.doctor)


def test_only_registered_providers_endorse(registered, people):
    lab_result(registered, people)
    for account in (people.patient, people.other_patient, people.stranger, people.admin):
        with brownie.reverts(typed_error("RegistryNotAProvider", account)):
            endorse(registered, people, account)


def test_an_unknown_record_is_refused(registered, people):
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, RESULT)):
        endorse(registered, people, people.hospital)
    lab_result(registered, people)
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.other_patient, RESULT)):
        registered.endorseRecord(people.other_patient, RESULT, {"from": people.hospital})


def test_access_to_the_record_is_required(registered, people):
    lab_result(registered, people)
    # No grant at all; a grant of another category; an expired grant.
    with brownie.reverts(typed_error("EndorsementsUnauthorizedEndorser", people.patient, RESULT, people.outsider)):
        endorse(registered, people, people.outsider)
    grant(registered, people.patient, people.outsider, mask(CONDITIONS))
    with brownie.reverts(typed_error("EndorsementsUnauthorizedEndorser", people.patient, RESULT, people.outsider)):
        endorse(registered, people, people.outsider)
    grant(registered, people.patient, people.other_hospital, mask(LABS), duration=60)
    brownie.chain.sleep(61)
    with brownie.reverts(typed_error("EndorsementsUnauthorizedEndorser", people.patient, RESULT,
                                     people.other_hospital)):
        endorse(registered, people, people.other_hospital)


def test_a_revoked_grant_endorses_nothing(registered, people):
    lab_result(registered, people)
    registered.revokeAccess(people.hospital, {"from": people.patient})
    with brownie.reverts(typed_error("EndorsementsUnauthorizedEndorser", people.patient, RESULT, people.hospital)):
        endorse(registered, people, people.hospital)


def test_a_suspended_provider_or_a_doctor_of_a_suspended_hospital_does_not_endorse(registered, people):
    lab_result(registered, people)
    registered.suspendProvider(people.colleague, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.colleague)):
        endorse(registered, people, people.colleague)
    registered.suspendProvider(people.hospital, {"from": people.admin})
    for provider in (people.hospital, people.doctor):
        with brownie.reverts(typed_error("RegistryProviderSuspended", provider)):
            endorse(registered, people, provider)
    registered.reinstateProvider(people.hospital, {"from": people.admin})
    endorse(registered, people, people.doctor)


def test_a_superseded_record_is_not_endorsed_and_its_replacement_starts_without_endorsements(registered, people):
    lab_result(registered, people, people.doctor)
    endorse(registered, people, people.hospital)
    corrected = digest("corrected lab result")
    registered.supersedeRecord(people.patient, RESULT, corrected, {"from": people.doctor})
    with brownie.reverts(typed_error("RecordIndexAlreadySuperseded", people.patient, RESULT)):
        endorse(registered, people, people.colleague)
    assert registered.endorsed(people.patient, RESULT, people.hospital)  # the old version keeps it
    assert not registered.endorsed(people.patient, corrected, people.hospital)
    endorse(registered, people, people.hospital, corrected)
