"""A hospital account's page: exactly its own doctors, with their status, and exactly the patients
who granted the hospital itself; nobody else may open it."""

import re
from types import SimpleNamespace

import pytest
from eth_account import Account

from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, enrol, provider_entry
from tests.e2e.helpers import days_from_now, text


def registered(carechain, stack, people, name, role, hospital=None):
    account = Account.create()
    entry = provider_entry(account.address, name, role, crypto.public_key_of(account.key))
    enrol(carechain, ProviderDirectory(stack[1].directory), people.admin, entry, hospital)
    return account


@pytest.fixture(scope="module")
def clinic(carechain, stack, people):
    """A hospital of this module's own (others' tests add doctors and grants to the shared ones),
    with an active and a suspended doctor."""
    hospital = registered(carechain, stack, people, "Harbour Hospital", "hospital")
    active = registered(carechain, stack, people, "Dr. Dana Lee", "doctor", hospital.address)
    suspended = registered(carechain, stack, people, "Dr. Sam Park", "doctor", hospital.address)
    carechain.suspend_provider(people.admin, suspended.address)
    return SimpleNamespace(hospital=hospital, active=active, suspended=suspended)


def test_the_page_lists_exactly_its_doctors_with_their_status(as_user, clinic, people):
    doctors = text(as_user(clinic.hospital).get("/hospital/")).split('id="doctors"')[1].split('id="patients"')[0]
    rows = doctors.split("<tr")[2:]  # after the header's row
    assert len(rows) == 2
    assert "Dr. Dana Lee" in rows[0] and clinic.active.address in rows[0] and "active" in rows[0]
    assert "Dr. Sam Park" in rows[1] and clinic.suspended.address in rows[1] and "suspended" in rows[1]
    for other in (people.doctor, people.colleague, people.outsider):
        assert other.address not in doctors


def test_the_page_lists_exactly_the_patients_who_granted_the_hospital(as_user, clinic, people, carechain,
                                                                      new_patient):
    granted, to_its_doctor, to_another_hospital, revoked = (new_patient() for _ in range(4))
    expires_at = days_from_now(carechain, 30)
    carechain.grant(granted, clinic.hospital.address, [0, 1], True, expires_at)
    carechain.grant(to_its_doctor, clinic.active.address, [0], False, expires_at)
    carechain.grant(to_another_hospital, people.other_hospital.address, [0], False, expires_at)
    carechain.grant(revoked, clinic.hospital.address, [0], False, expires_at)
    carechain.revoke(revoked, clinic.hospital.address, rotate=False)

    page = text(as_user(clinic.hospital).get("/hospital/"))
    patients = page.split('id="patients"')[1]
    rows = patients.split("<tr")[2:]
    assert len(rows) == 1
    row = rows[0]
    assert f'href="/doctor/patients/{granted.address}"' in row  # its records open on the provider's pages
    assert "Vitals" in row and "Labs" in row and "read and add" in row
    assert re.search(r"until .+ \((30 days|29 days 23 h) left\)", row)
    for other in (to_its_doctor, to_another_hospital, revoked):
        assert other.address not in page


def test_a_hospital_with_no_doctor_or_patient_says_so(as_user, carechain, stack, people):
    empty = registered(carechain, stack, people, "Hilltop Infirmary", "hospital")
    page = text(as_user(empty).get("/hospital/"))
    assert "registered no doctor of this hospital yet" in page and "No patient has granted the hospital" in page


def test_only_a_hospital_opens_it(as_user, visitor, people, patient):
    for user in (as_user(patient), as_user(people.doctor), as_user(people.admin)):
        response = user.get("/hospital/")
        assert response.status_code == 302 and response.location == "/auth/"
    assert visitor.get("/hospital/").location.startswith("/auth/login")
    assert as_user(people.other_hospital).get("/hospital/").status_code == 200
    assert as_user(people.hospital).get("/auth/").location == "/hospital/"  # a hospital's home
