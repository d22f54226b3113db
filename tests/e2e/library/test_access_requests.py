"""Access requests end to end: a provider asks with a sealed reason, the patient approves (granting
with keys, in the scope it chooses) or declines, the provider withdraws; twice at once, after the
request lapsed, from an account that may not ask, and with a reason pointing at something else."""

import pytest
from eth_account import Account

from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.records import Category
from app.carechain.requests import NOT_OPEN, REQUEST_LIFETIME, AccessRequest
from tests.e2e.helpers import days_from_now, pulse, travel_to
from tests.e2e.library.test_concurrency import at_once

WEEK = 7 * 86400
REASON = "Follow-up of your blood pressure after the clinic visit on Monday."


def ask(carechain, provider, patient, categories=(Category.VITALS,), can_write=False, reason=REASON):
    return carechain.request_access(provider, patient.address, categories, can_write, WEEK, reason)


def test_a_request_is_seen_by_the_patient_with_its_reason_sealed_for_the_two_of_them(carechain, people, patient):
    asked = ask(carechain, people.doctor, patient, [Category.VITALS, Category.LABS], True)

    assert (asked.outcome, asked.categories, asked.can_write, asked.duration) == \
        ("open", [Category.VITALS, Category.LABS], True, WEEK)
    assert carechain.requests_to(patient.address) == [asked]
    assert carechain.requests_by(people.doctor.address)[0] == asked
    assert carechain.request_reason(patient, asked) == REASON
    assert carechain.request_reason(people.doctor, asked) == REASON
    with pytest.raises(AccessDenied, match="only the patient and the provider"):
        carechain.request_reason(people.colleague, asked)
    # Only the digest is on chain: neither the transaction nor its event holds the reason.
    (event,) = [e for e in carechain.audit_trail(patient.address, kinds=["grants"]) if e.kind == "access requested"]
    assert event.details["reason"] == asked.reason.hex()
    assert REASON.encode() not in carechain.store.get(asked.reason)


def test_approving_grants_the_scope_the_patient_chose_with_the_keys(carechain, people, patient):
    vitals = carechain.add_record(patient, patient.address, pulse(patient))
    ask(carechain, people.doctor, patient, [Category.VITALS, Category.LABS], True)

    view = carechain.approve_request(patient, people.doctor.address, [Category.VITALS], False,
                                     days_from_now(carechain, 3))

    assert (view.categories, view.can_write) == ([Category.VITALS], False)
    assert carechain.read_record(people.doctor, patient.address, vitals.digest).entry.digest == vitals.digest
    assert carechain.request_between(patient.address, people.doctor.address).outcome == "approved"
    assert carechain.requests_by(people.doctor.address)[0].outcome == "approved"
    with pytest.raises(InvalidInput, match=NOT_OPEN):
        carechain.decline_request(patient, people.doctor.address)


def test_a_declined_or_withdrawn_request_may_be_asked_again(carechain, people, patient):
    ask(carechain, people.doctor, patient)
    carechain.decline_request(patient, people.doctor.address)
    assert carechain.request_between(patient.address, people.doctor.address).outcome == "declined"

    ask(carechain, people.doctor, patient, reason="")
    assert carechain.request_between(patient.address, people.doctor.address).outcome == "open"
    assert carechain.request_reason(patient, carechain.request_between(patient.address, people.doctor.address)) == ""
    carechain.withdraw_request(people.doctor, patient.address)
    assert carechain.request_between(patient.address, people.doctor.address).outcome == "withdrawn"
    with pytest.raises(InvalidInput, match=NOT_OPEN):
        carechain.approve_request(patient, people.doctor.address, [Category.VITALS], False,
                                  days_from_now(carechain, 3))
    assert carechain.grant_of(patient.address, people.doctor.address).expires_at == 0


def test_one_open_request_per_provider_and_patient(carechain, people, patient):
    ask(carechain, people.doctor, patient)
    with pytest.raises(InvalidInput, match="already asked this patient"):
        ask(carechain, people.doctor, patient, [Category.LABS])
    ask(carechain, people.colleague, patient)
    assert {r.provider for r in carechain.requests_to(patient.address)} == {people.doctor.address,
                                                                           people.colleague.address}


def test_the_same_request_sent_twice_at_once_is_sent_once(carechain, people, patient):
    outcomes = at_once([lambda: ask(carechain, people.doctor, patient)] * 2)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["AccessRequest", "InvalidInput"]
    requested = [e for e in carechain.audit_trail(patient.address) if e.kind == "access requested"]
    assert len(requested) == 1


def test_the_same_approval_sent_twice_at_once_grants_once(carechain, people, patient):
    ask(carechain, people.doctor, patient)
    expiry = days_from_now(carechain, 3)

    outcomes = at_once([lambda: carechain.approve_request(patient, people.doctor.address, [Category.VITALS], False,
                                                          expiry)] * 2)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["GrantView", "InvalidInput"]
    kinds = [e.kind for e in carechain.audit_trail(patient.address, kinds=["grants"])]
    assert kinds.count("granted") == 1 and kinds.count("request approved") == 1


def test_a_request_lapses_after_thirty_days_and_may_then_be_asked_again(carechain, people, patient):
    asked = ask(carechain, people.doctor, patient)
    travel_to(carechain, asked.requested_at + REQUEST_LIFETIME)

    assert carechain.request_between(patient.address, people.doctor.address).outcome == "lapsed"
    with pytest.raises(InvalidInput, match=NOT_OPEN):
        carechain.decline_request(patient, people.doctor.address)
    assert ask(carechain, people.doctor, patient).outcome == "open"


def test_asking_for_access_already_held_or_approving_over_a_live_grant_is_refused(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS, Category.LABS], False,
                    days_from_now(carechain, 3))
    with pytest.raises(InvalidInput, match="already gives you that access"):
        ask(carechain, people.doctor, patient)
    ask(carechain, people.doctor, patient, [Category.VITALS], can_write=True)  # more than the grant gives
    with pytest.raises(InvalidInput, match="already has access"):
        carechain.approve_request(patient, people.doctor.address, [Category.VITALS], True,
                                  days_from_now(carechain, 3))
    assert carechain.request_between(patient.address, people.doctor.address).outcome == "open"


@pytest.mark.parametrize("categories, duration, reason, problem", [
    ([], WEEK, "", "at least one category"),
    ([Category.VITALS], 0, "", "at least a day"),
    ([Category.VITALS], 3651 * 86400, "", "at most ten years"),
    ([Category.VITALS], WEEK, "x" * 1001, "longer than 1000"),
    ([Category.VITALS], WEEK, "see\u202ethis", "control or invisible"),
])
def test_bad_requests_are_refused_in_words_and_send_nothing(carechain, people, patient, categories, duration,
                                                             reason, problem):
    with pytest.raises(InvalidInput, match=problem):
        carechain.request_access(people.doctor, patient.address, categories, False, duration, reason)
    assert carechain.requests_to(patient.address) == []


def test_only_registered_unsuspended_providers_ask_and_only_patients_are_asked(carechain, people, patient,
                                                                              new_patient):
    with pytest.raises(AccessDenied, match="only registered doctors and hospitals"):
        ask(carechain, new_patient(), patient)
    with pytest.raises(AccessDenied, match="only registered doctors and hospitals"):
        ask(carechain, Account.create(), patient)
    with pytest.raises(InvalidInput, match="not a registered patient"):
        carechain.request_access(people.doctor, people.colleague.address, [Category.VITALS], False, WEEK)
    carechain.suspend_provider(people.admin, people.outsider.address)
    try:
        with pytest.raises(AccessDenied, match="suspended"):
            ask(carechain, people.outsider, patient)
    finally:
        carechain.reinstate_provider(people.admin, people.outsider.address)


def test_a_reason_pointing_at_another_object_is_reported_not_shown(carechain, people, patient):
    """A provider in bad faith calls the contract directly with a record of the patient as its reason."""
    record = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.chain.transact(people.doctor, "requestAccess", patient.address, 1, False, WEEK, record.digest)
    asked = carechain.request_between(patient.address, people.doctor.address)
    assert isinstance(asked, AccessRequest) and asked.reason == record.digest
    with pytest.raises(IntegrityError, match="does not come from the provider who asked"):
        carechain.request_reason(patient, asked)


def test_another_providers_reason_already_opened_is_still_refused(carechain, people, patient):
    """The patient opened Dr. Chen's reason (kept in memory); Dr. Okafor points his request at it."""
    asked = ask(carechain, people.doctor, patient)
    assert carechain.request_reason(patient, asked) == REASON
    carechain.chain.transact(people.colleague, "requestAccess", patient.address, 1, False, WEEK, asked.reason)
    borrowed = carechain.request_between(patient.address, people.colleague.address)
    with pytest.raises(IntegrityError, match="does not come from the provider who asked"):
        carechain.request_reason(patient, borrowed)
