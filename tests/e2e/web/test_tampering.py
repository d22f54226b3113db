"""Forged form posts and tampered stored records are refused with a clear page."""

import pytest

from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse, text


def test_a_form_token_from_another_session_is_refused(as_user, patient, new_patient, people, carechain):
    """A cross-site post replaying someone else's token (e.g. lifted from another page) fails."""
    victim, attacker = as_user(patient), as_user(new_patient())
    stolen = attacker.csrf_token()
    response = victim.post("/patient/grants", {"provider": people.doctor.address, "categories": ["0"],
                                               "access": "write", "days": "30", "csrf_token": stolen}, csrf=False)
    assert response.status_code == 400 and "sent from another site" in text(response)
    assert carechain.grant_of(patient.address, people.doctor.address).expires_at == 0


@pytest.fixture
def tampered(carechain, people, patient):
    """A record whose stored bytes were changed after signing, indexed by a doctor with write
    access (as a malicious writer could)."""
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    entry = carechain.add_record(people.doctor, patient.address, pulse(patient, 80))
    data = bytearray(carechain.store.get(entry.digest))
    data[-10] ^= 0x01
    digest = carechain.store.put(bytes(data))
    carechain.chain.transact(people.doctor, "addRecord", patient.address, digest, int(Category.VITALS))
    return digest


def test_a_tampered_record_is_marked_and_never_shown(as_user, patient, tampered, people):
    me = as_user(patient)
    dashboard = text(me.get("/patient/"))
    assert 'class="badge bad failed"' in dashboard and "(unreadable)" in dashboard
    page = me.get(f"/patient/records/{tampered.hex()}")
    assert page.status_code == 502 and "failed verification" in text(page) and "80 beats" not in text(page)
    doctor = as_user(people.doctor).get(f"/doctor/patients/{patient.address}/records/{tampered.hex()}")
    assert doctor.status_code == 502 and "80 beats" not in text(doctor)


def test_an_object_that_is_no_envelope_is_refused(as_user, patient, carechain):
    digest = carechain.store.put(b"not an envelope at all")
    carechain.chain.transact(patient, "addRecord", patient.address, digest, int(Category.VITALS))
    page = as_user(patient).get(f"/patient/records/{digest.hex()}")
    assert page.status_code == 502 and "not a CareChain record envelope" in text(page)
