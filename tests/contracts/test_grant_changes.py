"""A patient renews (later expiry), narrows (smaller scope, no write, earlier expiry) or revokes a
grant at any time; each change is checked and logged."""

import brownie
from brownie import chain
from conftest import DAY, LABS, NONE, VITALS, at_time, digest, grant, mask, typed_error


def stored(registered, people):
    g = registered.grantOf(people.patient, people.doctor)
    return (g["expiresAt"], g["categories"], g["canWrite"])


def current_expiry(registered, people):
    return registered.grantOf(people.patient, people.doctor)["expiresAt"]


def test_renew_moves_expiry_later(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), can_write=True)
    new_expiry = current_expiry(registered, people) + 30 * DAY
    tx = registered.renewAccess(people.doctor, new_expiry, digest("keys"), {"from": people.patient})
    assert tx.events["AccessRenewed"] == {
        "patient": people.patient,
        "grantee": people.doctor,
        "expiresAt": new_expiry,
        "keyBundle": "0x" + digest("keys").hex(),
    }
    assert stored(registered, people) == (new_expiry, mask(VITALS), True)


def test_renew_revives_an_expired_grant(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), duration=DAY)
    expired_at = current_expiry(registered, people)
    chain.mine(timestamp=expired_at + 10)
    assert not registered.canAccess(people.patient, people.doctor, VITALS)
    registered.renewAccess(people.doctor, expired_at + 10 * DAY, NONE, {"from": people.patient})
    assert registered.canAccess(people.patient, people.doctor, VITALS)


def test_renew_must_be_later(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    expiry = current_expiry(registered, people)
    for new_expiry in (expiry, expiry - 1):
        with brownie.reverts(typed_error("AccessGrantsNotLater", new_expiry, expiry)):
            registered.renewAccess(people.doctor, new_expiry, NONE, {"from": people.patient})


def test_renew_to_the_past_is_refused(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), duration=DAY)
    expired_at = current_expiry(registered, people)
    at_time(expired_at + 100)
    with brownie.reverts(typed_error("AccessGrantsExpiryNotInFuture", expired_at + 50)):
        registered.renewAccess(people.doctor, expired_at + 50, NONE, {"from": people.patient})


def test_renew_needs_a_grant_and_an_active_grantee(registered, people):
    with brownie.reverts(typed_error("AccessGrantsNoGrant", people.patient, people.doctor)):
        registered.renewAccess(people.doctor, chain.time() + DAY, NONE, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(VITALS))
    registered.suspendProvider(people.doctor, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.doctor)):
        registered.renewAccess(
            people.doctor, current_expiry(registered, people) + DAY, NONE, {"from": people.patient}
        )


def test_narrow_drops_categories_write_right_and_time(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS, LABS), can_write=True)
    earlier = current_expiry(registered, people) - DAY
    tx = registered.narrowAccess(people.doctor, mask(LABS), False, earlier, {"from": people.patient})
    assert tx.events["AccessNarrowed"] == {
        "patient": people.patient,
        "grantee": people.doctor,
        "categories": mask(LABS),
        "canWrite": False,
        "expiresAt": earlier,
    }
    assert stored(registered, people) == (earlier, mask(LABS), False)
    assert not registered.canAccess(people.patient, people.doctor, VITALS)
    assert not registered.canWrite(people.patient, people.doctor, LABS)


def test_narrow_cannot_widen(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    expiry = current_expiry(registered, people)
    for categories, can_write, expires_at in (
        (mask(VITALS, LABS), False, expiry),
        (mask(LABS), False, expiry),
        (mask(VITALS), True, expiry),
        (mask(VITALS), False, expiry + 1),
    ):
        with brownie.reverts(typed_error("AccessGrantsNotNarrower")):
            registered.narrowAccess(people.doctor, categories, can_write, expires_at, {"from": people.patient})
    assert stored(registered, people) == (expiry, mask(VITALS), False)


def test_narrow_checks_scope_and_expiry(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    expiry = current_expiry(registered, people)
    with brownie.reverts(typed_error("AccessGrantsEmptyScope")):
        registered.narrowAccess(people.doctor, 0, False, expiry, {"from": people.patient})
    now = chain.time() + 100
    at_time(now)
    with brownie.reverts(typed_error("AccessGrantsExpiryNotInFuture", now)):
        registered.narrowAccess(people.doctor, mask(VITALS), False, now, {"from": people.patient})


def test_narrow_needs_an_unexpired_grant(registered, people):
    with brownie.reverts(typed_error("AccessGrantsNoGrant", people.patient, people.doctor)):
        registered.narrowAccess(people.doctor, mask(VITALS), False, chain.time() + DAY, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(VITALS), duration=DAY)
    expiry = current_expiry(registered, people)
    at_time(expiry)
    with brownie.reverts(typed_error("AccessGrantsGrantExpired", people.patient, people.doctor)):
        registered.narrowAccess(people.doctor, mask(VITALS), False, expiry, {"from": people.patient})


def test_revoke_ends_access_at_once(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), can_write=True)
    tx = registered.revokeAccess(people.doctor, {"from": people.patient})
    assert tx.events["AccessRevoked"] == {"patient": people.patient, "grantee": people.doctor}
    assert stored(registered, people) == (0, 0, False)
    assert not registered.canAccess(people.patient, people.doctor, VITALS)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.doctor, VITALS)):
        registered.addRecord(people.patient, digest("after revocation"), VITALS, {"from": people.doctor})


def test_revoke_clears_an_expired_grant(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), duration=DAY)
    chain.mine(timestamp=current_expiry(registered, people) + 1)
    registered.revokeAccess(people.doctor, {"from": people.patient})
    assert stored(registered, people) == (0, 0, False)


def test_revoke_needs_a_grant(registered, people):
    with brownie.reverts(typed_error("AccessGrantsNoGrant", people.patient, people.doctor)):
        registered.revokeAccess(people.doctor, {"from": people.patient})
    grant(registered, people.patient, people.doctor, mask(VITALS))
    registered.revokeAccess(people.doctor, {"from": people.patient})
    with brownie.reverts(typed_error("AccessGrantsNoGrant", people.patient, people.doctor)):
        registered.revokeAccess(people.doctor, {"from": people.patient})


def test_changes_only_touch_the_callers_own_grants(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    expiry = current_expiry(registered, people)
    for change in (
        lambda: registered.revokeAccess(people.doctor, {"from": people.other_patient}),
        lambda: registered.renewAccess(people.doctor, expiry + DAY, NONE, {"from": people.other_patient}),
        lambda: registered.narrowAccess(people.doctor, mask(VITALS), False, expiry, {"from": people.other_patient}),
    ):
        with brownie.reverts(typed_error("AccessGrantsNoGrant", people.other_patient, people.doctor)):
            change()
    assert stored(registered, people) == (expiry, mask(VITALS), False)
