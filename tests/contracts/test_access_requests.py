"""Access requests: a registered, unsuspended provider asks a patient for access (one open request
per provider and patient, lapsing after REQUEST_LIFETIME); the patient approves, which grants in
the same transaction in the scope the patient chooses, or declines; the provider may withdraw.
Only a digest of the reason, encrypted off chain, is in the event."""

import brownie
from brownie import chain
from conftest import DAY, LABS, VITALS, mask, typed_error

REASON = bytes.fromhex("ab" * 32)  # stands in for the digest of the encrypted reason on IPFS
LIFETIME = 30 * DAY


def ask(registered, people, provider=None, categories=mask(VITALS), writable=False, duration=7 * DAY):
    return registered.requestAccess(people.patient, categories, writable, duration, REASON,
                                    {"from": provider or people.doctor})


def test_a_provider_asks_and_the_request_is_open(registered, people):
    for provider in (people.doctor, people.hospital):
        tx = ask(registered, people, provider, mask(VITALS, LABS), True)
        assert tx.events["AccessRequested"] == {"patient": people.patient, "provider": provider,
                                                "categories": mask(VITALS, LABS), "writable": True,
                                                "duration": 7 * DAY, "reason": "0x" + REASON.hex()}
        assert registered.requestOf(people.patient, provider) == tx.timestamp


def test_one_open_request_per_provider_and_patient(registered, people):
    ask(registered, people)
    with brownie.reverts(typed_error("AccessRequestsAlreadyOpen", people.patient, people.doctor)):
        ask(registered, people, categories=mask(LABS))
    ask(registered, people, people.colleague)  # another provider may ask
    registered.requestAccess(people.other_patient, mask(VITALS), False, DAY, REASON, {"from": people.doctor})


def test_an_unanswered_request_lapses_and_may_be_asked_again(registered, people):
    asked = ask(registered, people).timestamp
    chain.mine(timestamp=asked + LIFETIME)
    assert registered.requestOf(people.patient, people.doctor) == 0
    ask(registered, people)
    with brownie.reverts(typed_error("AccessRequestsNoOpenRequest", people.patient, people.doctor)):
        chain.mine(timestamp=asked + 2 * LIFETIME + 1)
        registered.declineRequest(people.doctor, {"from": people.patient})


def test_only_registered_unsuspended_providers_ask_registered_patients(registered, people):
    for account in (people.stranger, people.other_patient, people.admin):
        with brownie.reverts(typed_error("RegistryNotAProvider", account)):
            ask(registered, people, account)
    registered.suspendProvider(people.colleague, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.colleague)):
        ask(registered, people, people.colleague)
    with brownie.reverts(typed_error("RegistryNotAPatient", people.stranger)):
        registered.requestAccess(people.stranger, mask(VITALS), False, DAY, REASON, {"from": people.doctor})


def test_a_request_asks_for_something(registered, people):
    for categories, duration in ((0, DAY), (mask(VITALS), 0), (mask(VITALS), 3650 * DAY + 1)):
        with brownie.reverts(typed_error("AccessRequestsInvalidScope", categories, duration)):
            ask(registered, people, categories=categories, duration=duration)


def test_approving_grants_in_the_scope_the_patient_chooses(registered, people):
    ask(registered, people, categories=mask(VITALS, LABS), writable=True)
    expires = chain.time() + 3 * DAY
    tx = registered.approveRequest(people.doctor, mask(VITALS), False, expires, REASON, {"from": people.patient})
    assert tx.events["AccessRequestAnswered"] == {"patient": people.patient, "provider": people.doctor,
                                                  "approved": True}
    assert tx.events["AccessGranted"]["categories"] == mask(VITALS)
    expires_at, categories, can_write = registered.grantOf(people.patient, people.doctor)
    assert (expires_at, categories, can_write) == (expires, mask(VITALS), False)
    assert registered.requestOf(people.patient, people.doctor) == 0


def test_declining_and_withdrawing_close_the_request(registered, people):
    ask(registered, people)
    tx = registered.declineRequest(people.doctor, {"from": people.patient})
    assert tx.events["AccessRequestAnswered"]["approved"] is False
    assert registered.grantOf(people.patient, people.doctor)[0] == 0
    ask(registered, people)  # declined: the provider may ask again
    tx = registered.withdrawRequest(people.patient, {"from": people.doctor})
    assert tx.events["AccessRequestWithdrawn"] == {"patient": people.patient, "provider": people.doctor}
    assert registered.requestOf(people.patient, people.doctor) == 0


def test_only_an_open_request_can_be_answered_or_withdrawn(registered, people):
    with brownie.reverts(typed_error("AccessRequestsNoOpenRequest", people.patient, people.doctor)):
        registered.approveRequest(people.doctor, mask(VITALS), False, chain.time() + DAY, REASON,
                                  {"from": people.patient})
    with brownie.reverts(typed_error("AccessRequestsNoOpenRequest", people.patient, people.doctor)):
        registered.declineRequest(people.doctor, {"from": people.patient})
    with brownie.reverts(typed_error("AccessRequestsNoOpenRequest", people.patient, people.doctor)):
        registered.withdrawRequest(people.patient, {"from": people.doctor})
    ask(registered, people)
    # Another patient cannot answer it, nor another provider withdraw it.
    with brownie.reverts(typed_error("AccessRequestsNoOpenRequest", people.other_patient, people.doctor)):
        registered.declineRequest(people.doctor, {"from": people.other_patient})
    with brownie.reverts(typed_error("AccessRequestsNoOpenRequest", people.patient, people.colleague)):
        registered.withdrawRequest(people.patient, {"from": people.colleague})
    assert registered.requestOf(people.patient, people.doctor) != 0


def test_an_approval_that_cannot_grant_leaves_the_request_open(registered, people):
    """All or nothing: a refused grant (here a past expiry) does not close the request."""
    ask(registered, people)
    with brownie.reverts(typed_error("AccessGrantsExpiryNotInFuture", 1)):
        registered.approveRequest(people.doctor, mask(VITALS), False, 1, REASON, {"from": people.patient})
    assert registered.requestOf(people.patient, people.doctor) != 0
