"""A doctor is refused, with a reason, when there is no grant, after expiry, after revocation,
when suspended, or outside the granted categories; the refusal is decided before any fetch."""

import pytest

from app.carechain.errors import AccessDenied
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse, travel_to


@pytest.fixture
def record(carechain, patient):
    return carechain.add_record(patient, patient.address, pulse(patient))


def read(carechain, doctor, patient, entry):
    return carechain.read_record(doctor, patient.address, entry.digest)


def test_no_grant(carechain, people, patient, record):
    with pytest.raises(AccessDenied, match="has not granted you access"):
        read(carechain, people.doctor, patient, record)


def test_after_expiry_by_chain_time(carechain, people, patient, record):
    expiry = days_from_now(carechain, 1)
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, expiry)
    travel_to(carechain, expiry - 10)
    assert read(carechain, people.doctor, patient, record).entry == record
    travel_to(carechain, expiry)
    with pytest.raises(AccessDenied, match="expired on"):
        read(carechain, people.doctor, patient, record)


def test_after_revocation(carechain, people, patient, record):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    read(carechain, people.doctor, patient, record)
    carechain.revoke(patient, people.doctor.address)
    with pytest.raises(AccessDenied, match="revoked"):
        read(carechain, people.doctor, patient, record)


def test_suspended_doctor_and_doctor_of_suspended_hospital(carechain, people, patient, record):
    carechain.grant(patient, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 1))
    carechain.suspend_provider(people.admin, people.colleague.address)
    try:
        with pytest.raises(AccessDenied, match="your account is suspended"):
            read(carechain, people.colleague, patient, record)
        assert read(carechain, people.doctor, patient, record).entry == record
    finally:
        carechain.reinstate_provider(people.admin, people.colleague.address)
    carechain.suspend_provider(people.admin, people.hospital.address)
    try:
        with pytest.raises(AccessDenied, match="your hospital is suspended"):
            read(carechain, people.doctor, patient, record)
    finally:
        carechain.reinstate_provider(people.admin, people.hospital.address)


def test_outside_the_granted_categories(carechain, people, patient, record):
    carechain.grant(patient, people.doctor.address, [Category.LABS], True, days_from_now(carechain, 1))
    with pytest.raises(AccessDenied, match="does not cover vitals records"):
        read(carechain, people.doctor, patient, record)
    with pytest.raises(AccessDenied, match="does not cover vitals records"):
        carechain.add_record(people.doctor, patient.address, pulse(patient))


def test_wall_clock_ends_access_even_on_an_idle_chain(carechain, people, patient, record, monkeypatch):
    """Ganache's clock only moves when it mines, so after the expiry second an idle chain's view
    calls still say yes. The library also compares the expiry with the wall clock, set here past
    the expiry while no block is mined."""
    expiry = days_from_now(carechain, 1)
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, expiry)
    monkeypatch.setattr("app.carechain.flows.time.time", lambda: expiry + 1)

    assert carechain.chain.call("canAccess", patient.address, people.doctor.address, int(Category.VITALS))
    with pytest.raises(AccessDenied, match="expired"):
        read(carechain, people.doctor, patient, record)
