"""A doctor's write checks the same rules whichever slots it reads them from. The contract copies a
doctor's hospital and roster bit into the doctor's grants and mirrors the suspension of a
hospital's first doctors in the hospital's slot (its roster), so a write under the doctor's own
grant needs no read of the doctor's slot. These tests suspend and reinstate doctors and hospitals
after the grant, for doctors with a roster bit and for one registered after the roster is full, and
cover writes under an own grant, under the hospital's grant while the own grant does not cover the
category, and under the hospital's grant alone."""

import brownie
import pytest
from brownie import accounts
from conftest import DAY, LABS, VITALS, digest, grant, mask, public_key, typed_error
from eth_account import Account

from scripts import localchain

ROSTER_SIZE = 160  # the contract's roster width: doctors numbered 0 to 159 have a bit


def refused(carechain, patient, author, category):
    return brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", patient, author, category))


@pytest.fixture(scope="module")
def crowded(registered, people):
    """`registered` plus enough doctors at `hospital` to fill its roster, then `late` (a funded
    account) as the first doctor without a roster bit. Fillers are keys nobody funds: the admin
    registers them."""
    already = 2  # doctor and colleague
    for n in range(ROSTER_SIZE - already):
        filler = Account.from_key((n + 1).to_bytes(32, "big"))
        registered.registerDoctor(filler.address, people.hospital, localchain.public_key(filler), {"from": people.admin})
    late = accounts[9]
    registered.registerDoctor(late, people.hospital, public_key(late), {"from": people.admin})
    return registered, late


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


@pytest.mark.parametrize("suspended", ["late", "hospital"])
def test_a_doctor_without_a_roster_bit_follows_the_same_rules(crowded, people, suspended):
    carechain, late = crowded
    p = people
    assert carechain.participantOf(late)["hospital"] == p.hospital
    grant(carechain, p.patient, late, mask(VITALS), can_write=True)
    grant(carechain, p.patient, p.hospital, mask(LABS), can_write=True)
    write(carechain, p.patient, late, "own", VITALS)
    write(carechain, p.patient, late, "hospital", LABS)

    target = late if suspended == "late" else p.hospital
    carechain.suspendProvider(target, {"from": p.admin})
    for category in (VITALS, LABS):
        assert not carechain.canWrite(p.patient, late, category)
        with refused(carechain, p.patient, late, category):
            write(carechain, p.patient, late, f"during {category}", category)
    # The last doctor with a roster bit is unaffected by the late doctor's suspension.
    last = Account.from_key((ROSTER_SIZE - 2).to_bytes(32, "big")).address
    assert carechain.isActiveProvider(last) == (suspended == "late")

    carechain.reinstateProvider(target, {"from": p.admin})
    write(carechain, p.patient, late, "after", VITALS)
    assert carechain.canWrite(p.patient, late, LABS)


def test_providers_show_no_record_count(crowded, people):
    """Hospitals and doctors keep other counts in their slots; none shows as records."""
    carechain, late = crowded
    p = people
    for account in (p.hospital, late, p.doctor):
        assert carechain.participantOf(account)["recordCount"] == 0
        assert carechain.recordCount(account) == 0
        assert carechain.recordsPage(account, 1, 10) == ((), ())
    assert carechain.participantOf(p.hospital)["hospital"] == brownie.ZERO_ADDRESS
    assert carechain.participantOf(p.doctor)["hospital"] == p.hospital
