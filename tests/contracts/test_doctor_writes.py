"""A doctor's writes: doctors and hospitals suspended and reinstated after the grant, writes under
the doctor's own grant, under the hospital's grant where the own grant does not cover the category,
and under the hospital's grant alone."""

import brownie
import pytest
from conftest import DAY, LABS, VITALS, digest, grant, mask, typed_error


def refused(carechain, patient, author, category):
    return brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", patient, author, category))


def write(carechain, patient, author, label, category):
    return carechain.addRecord(patient, digest(label), category, {"from": author})


@pytest.mark.parametrize("suspended", ["doctor", "hospital"])
def test_suspension_after_an_own_grant_stops_writes_until_reinstated(registered, people, suspended):
    p = people
    grant(registered, p.patient, p.doctor, mask(VITALS), can_write=True)
    write(registered, p.patient, p.doctor, "before", VITALS)

    registered.suspendProvider(getattr(p, suspended), {"from": p.admin})
    assert not registered.canWrite(p.patient, p.doctor, VITALS)
    assert not registered.canAccess(p.patient, p.doctor, VITALS)
    with refused(registered, p.patient, p.doctor, VITALS):
        write(registered, p.patient, p.doctor, "during", VITALS)

    registered.reinstateProvider(getattr(p, suspended), {"from": p.admin})
    assert registered.canWrite(p.patient, p.doctor, VITALS)
    write(registered, p.patient, p.doctor, "after", VITALS)
    assert registered.recordCount(p.patient) == 2


def test_a_colleagues_suspension_leaves_a_doctor_writing(registered, people):
    p = people
    grant(registered, p.patient, p.doctor, mask(VITALS), can_write=True)
    registered.suspendProvider(p.colleague, {"from": p.admin})
    write(registered, p.patient, p.doctor, "note", VITALS)
    registered.reinstateProvider(p.colleague, {"from": p.admin})
    registered.suspendProvider(p.doctor, {"from": p.admin})
    assert registered.participantOf(p.doctor)["suspended"]
    assert not registered.participantOf(p.colleague)["suspended"]
    assert registered.isActiveProvider(p.colleague)


@pytest.mark.parametrize("suspended", [None, "doctor", "hospital"])
def test_hospital_grant_covers_what_the_own_grant_does_not(registered, people, suspended):
    """The own grant (labs, read only) names the hospital; the hospital's grant adds vitals."""
    p = people
    grant(registered, p.patient, p.doctor, mask(LABS))
    grant(registered, p.patient, p.hospital, mask(VITALS), can_write=True)
    if suspended:
        registered.suspendProvider(getattr(p, suspended), {"from": p.admin})
        with refused(registered, p.patient, p.doctor, VITALS):
            write(registered, p.patient, p.doctor, "ward", VITALS)
        registered.reinstateProvider(getattr(p, suspended), {"from": p.admin})
    write(registered, p.patient, p.doctor, "ward", VITALS)
    with refused(registered, p.patient, p.doctor, LABS):
        write(registered, p.patient, p.doctor, "lab", LABS)


def test_a_lapsed_own_grant_still_lets_the_hospital_grant_cover(registered, people):
    p = people
    grant(registered, p.patient, p.doctor, mask(VITALS), can_write=True, duration=DAY)
    grant(registered, p.patient, p.hospital, mask(VITALS), can_write=True, duration=10 * DAY)
    brownie.chain.sleep(2 * DAY)
    write(registered, p.patient, p.doctor, "still", VITALS)
    registered.revokeAccess(p.hospital, {"from": p.patient})
    with refused(registered, p.patient, p.doctor, VITALS):
        write(registered, p.patient, p.doctor, "no more", VITALS)
