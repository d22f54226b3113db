"""A patient grants a registered provider access to chosen categories, read or read+write, until
an expiry in the future; anything else is refused and leaves no grant behind."""

import brownie
from brownie import chain
from conftest import DAY, LABS, MEDICATIONS, NONE, VITALS, at_time, digest, grant, mask, typed_error

MAX_GRANT_DURATION = 3650 * DAY


def stored(registered, patient, grantee):
    g = registered.grantOf(patient, grantee)
    return (g["expiresAt"], g["categories"], g["canWrite"])


def test_patient_grants_read_access(registered, people):
    expires_at = chain.time() + 7 * DAY
    tx = registered.grantAccess(
        people.doctor, mask(VITALS, LABS), False, expires_at, digest("keys"), {"from": people.patient}
    )

    assert tx.events["AccessGranted"] == {
        "patient": people.patient,
        "grantee": people.doctor,
        "categories": mask(VITALS, LABS),
        "canWrite": False,
        "expiresAt": expires_at,
        "keyBundle": "0x" + digest("keys").hex(),
    }
    assert stored(registered, people.patient, people.doctor) == (expires_at, mask(VITALS, LABS), False)
    assert registered.canAccess(people.patient, people.doctor, VITALS)
    assert registered.canAccess(people.patient, people.doctor, LABS)
    assert not registered.canAccess(people.patient, people.doctor, MEDICATIONS)
    assert not registered.canWrite(people.patient, people.doctor, VITALS)


def test_patient_grants_write_access(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), can_write=True)
    assert registered.canWrite(people.patient, people.doctor, VITALS)
    assert not registered.canWrite(people.patient, people.doctor, LABS)


def test_grant_concerns_only_that_patient_and_grantee(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), can_write=True)
    assert not registered.canAccess(people.other_patient, people.doctor, VITALS)
    assert not registered.canAccess(people.patient, people.outsider, VITALS)


def test_only_registered_patients_grant(registered, people):
    expires_at = chain.time() + DAY
    for caller in (people.stranger, people.doctor, people.hospital, people.admin):
        with brownie.reverts(typed_error("RegistryNotAPatient", caller)):
            registered.grantAccess(people.colleague, mask(VITALS), False, expires_at, NONE, {"from": caller})


def test_grantee_must_be_a_provider(registered, people):
    expires_at = chain.time() + DAY
    for grantee in (people.stranger, people.other_patient, people.patient):
        with brownie.reverts(typed_error("RegistryNotAProvider", grantee)):
            registered.grantAccess(grantee, mask(VITALS), False, expires_at, NONE, {"from": people.patient})


def test_scope_must_not_be_empty(registered, people):
    with brownie.reverts(typed_error("AccessGrantsEmptyScope")):
        registered.grantAccess(people.doctor, 0, False, chain.time() + DAY, NONE, {"from": people.patient})


def test_expiry_must_be_in_the_future(registered, people):
    now = chain.time() + 100
    for expires_at in (now, now - 1, 0):
        at_time(now)
        with brownie.reverts(typed_error("AccessGrantsExpiryNotInFuture", expires_at)):
            registered.grantAccess(people.doctor, mask(VITALS), False, expires_at, NONE, {"from": people.patient})
    assert stored(registered, people.patient, people.doctor) == (0, 0, False)


def test_expiry_may_be_at_most_max_duration_ahead(registered, people):
    now = chain.time() + 100
    latest = now + MAX_GRANT_DURATION
    at_time(now)
    with brownie.reverts(typed_error("AccessGrantsExpiryTooFar", latest + 1, latest)):
        registered.grantAccess(people.doctor, mask(VITALS), False, latest + 1, NONE, {"from": people.patient})
    at_time(now)
    tx = registered.grantAccess(people.doctor, mask(VITALS), False, latest, NONE, {"from": people.patient})
    assert tx.timestamp == now
    assert stored(registered, people.patient, people.doctor)[0] == latest


def test_unexpired_grant_cannot_be_granted_again(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    with brownie.reverts(typed_error("AccessGrantsGrantExists", people.patient, people.doctor)):
        grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    assert stored(registered, people.patient, people.doctor)[1:] == (mask(VITALS), False)


def test_all_32_categories_can_be_granted(registered, people):
    grant(registered, people.patient, people.doctor, 2**32 - 1)
    assert registered.canAccess(people.patient, people.doctor, 31)
    assert not registered.canAccess(people.patient, people.doctor, 32)
    assert not registered.canAccess(people.patient, people.doctor, 255)
