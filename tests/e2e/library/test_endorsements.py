"""Endorsements of records: doctors and hospitals that may read a record vouch for it on chain, the
admin's policy per category says how many make it validated (from distinct hospitals or not), and
every read confirms the endorsements the index names against the chain."""

import json

import pytest

from app.carechain.endorsements import Policy
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.flows import CareChain
from app.carechain.records import Category
from tests.e2e.clinic_resources import lab_result
from tests.e2e.helpers import days_from_now
from tests.e2e.library.test_concurrency import at_once


@pytest.fixture
def labs_policy(carechain, people):
    """set(required, distinct_hospitals) for lab results; dropped again after the test (tests share the chain)."""
    yield lambda required, distinct: carechain.set_policy(people.admin, Category.LABS, required, distinct)
    carechain.set_policy(people.admin, Category.LABS, 0, False)


@pytest.fixture
def result(carechain, people, patient):
    """A lab result Dr. Chen wrote; both hospitals and Dr. Diaz (of Riverside Clinic) may read it,
    Dr. Okafor through St. Mary's grant."""
    until = days_from_now(carechain, 3)
    carechain.grant(patient, people.doctor.address, [Category.LABS], True, until)
    for reader in (people.hospital, people.outsider):
        carechain.grant(patient, reader.address, [Category.LABS], False, until)
    return carechain.add_record(people.doctor, patient.address, lab_result(patient.address))


def validation_of(carechain, entry):
    return carechain.endorsements(entry.patient, [entry.digest])[entry.digest]


def test_endorsements_count_once_per_hospital_when_the_policy_says_so(carechain, people, result, labs_policy):
    assert labs_policy(2, True) == Policy(2, True)
    assert carechain.policies()[Category.LABS] == Policy(2, True)
    # the pages' policies come from the event index: they agree with the contract's
    assert carechain.policies() == {category: Policy(*carechain.chain.call("endorsementPolicyOf", category))
                                    for category in Category}
    after = [carechain.endorse(provider, result.patient, result.digest)
             for provider in (people.colleague, people.hospital, people.outsider)]
    assert [(v.counted, v.required, v.validated) for v in after] == [(1, 2, False), (1, 2, False), (2, 2, True)]
    endorsements = after[-1].endorsements
    assert [(e.provider, e.role, e.hospital, e.active) for e in endorsements] == [
        (people.colleague.address, "doctor", people.hospital.address, True),
        (people.hospital.address, "hospital", people.hospital.address, True),
        (people.outsider.address, "doctor", people.other_hospital.address, True)]
    labs_policy(3, False)
    assert (validation_of(carechain, result).counted, validation_of(carechain, result).validated) == (3, True)


def test_a_category_without_a_policy_shows_its_endorsements_unvalidated(carechain, people, result):
    validation = carechain.endorse(people.hospital, result.patient, result.digest)
    assert validation.policy == Policy() and validation.counted == 1 and not validation.validated
    assert validation.endorsed_by(people.hospital.address) and not validation.endorsed_by(people.outsider.address)


def test_what_the_contract_would_refuse_is_refused_in_words_before_sending(carechain, people, patient, result):
    sent = len(carechain.chain.receipts)
    with pytest.raises(InvalidInput, match="you wrote this record"):
        carechain.endorse(people.doctor, result.patient, result.digest)
    with pytest.raises(AccessDenied, match="has not granted you access"):
        carechain.endorse(people.other_hospital, result.patient, result.digest)
    with pytest.raises(AccessDenied, match="only registered doctors and hospitals"):
        carechain.endorse(patient, result.patient, result.digest)
    with pytest.raises(InvalidInput, match="no such record"):
        carechain.endorse(people.hospital, result.patient, bytes(32))
    carechain.endorse(people.hospital, result.patient, result.digest)
    with pytest.raises(InvalidInput, match="already endorsed"):
        carechain.endorse(people.hospital, result.patient, result.digest)
    assert len(carechain.chain.receipts) == sent + 1


def test_a_superseding_version_starts_without_endorsements(carechain, people, patient, result):
    carechain.endorse(people.hospital, result.patient, result.digest)
    (new,) = carechain.rotate(patient, [Category.LABS], "a test of endorsements").rotated
    assert validation_of(carechain, new).endorsements == () and validation_of(carechain, new).current
    old = validation_of(carechain, result)
    assert [e.provider for e in old.endorsements] == [people.hospital.address] and not old.current
    with pytest.raises(InvalidInput, match="newer version replaces this record"):
        carechain.endorse(people.outsider, result.patient, result.digest)
    assert carechain.endorse(people.outsider, new.patient, new.digest).counted == 1


def test_a_provider_in_bad_faith_calling_the_contract_directly_is_refused(carechain, people, result):
    for provider in (people.other_hospital, people.doctor):  # no access; the author
        with pytest.raises(TransactionFailed) as refused:
            carechain.chain.transact(provider, "endorseRecord", result.patient, result.digest)
        assert refused.value.error_name in ("EndorsementsUnauthorizedEndorser", "EndorsementsOwnRecord")
    assert validation_of(carechain, result).endorsements == ()


def test_the_same_endorsement_sent_twice_at_once_counts_once(stack, carechain, people, result):
    clients = [CareChain.connect(stack[1]) for _ in range(2)]
    outcomes = at_once([lambda c=c: c.endorse(people.hospital, result.patient, result.digest) for c in clients])
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], InvalidInput) and "already endorsed" in str(refused[0])
    assert len(validation_of(carechain, result).endorsements) == 1
    assert len(carechain.chain.events("RecordEndorsed", patient=result.patient)) == 1


def test_endorsements_the_chain_does_not_hold_are_left_out_on_read(carechain, people, result):
    """An index file changed by hand (or a forged row) lends nobody an endorsement: the chain decides."""
    carechain.endorse(people.hospital, result.patient, result.digest)
    forged = (10**12, 0, 0, "RecordEndorsed", result.patient, people.outsider.address,
              json.dumps({"digest": result.digest.hex(), "provider": people.outsider.address}))
    carechain.indexed()._db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", forged)
    try:
        assert [e.provider for e in validation_of(carechain, result).endorsements] == [people.hospital.address]
    finally:
        carechain.index._db.execute("DELETE FROM events WHERE block = ?", (forged[0],))


def test_a_suspended_providers_endorsement_is_shown_but_not_counted(carechain, people, result, labs_policy):
    labs_policy(1, False)
    carechain.endorse(people.outsider, result.patient, result.digest)
    carechain.suspend_provider(people.admin, people.other_hospital.address)  # Dr. Diaz's hospital
    try:
        (endorsement,) = validation_of(carechain, result).endorsements
        assert not endorsement.active and validation_of(carechain, result).counted == 0
    finally:
        carechain.reinstate_provider(people.admin, people.other_hospital.address)
    assert validation_of(carechain, result).validated


def test_only_the_admin_sets_a_policy_and_only_a_sound_one(carechain, people):
    before = carechain.policies()
    with pytest.raises(AccessDenied, match="only the consortium administrator"):
        carechain.set_policy(people.hospital, Category.LABS, 2, True)
    for category, required in ((9, 1), ("labs", 1), (Category.LABS, -1), (Category.LABS, 256),
                               (Category.LABS, True), (Category.LABS, "2")):
        with pytest.raises(InvalidInput):
            carechain.set_policy(people.admin, category, required, False)
    assert carechain.policies() == before
