"""A doctor with a write grant acting in bad faith indexes junk for the patient: random digests,
an object that is not a record, another patient's record. The patient's reads fail fast and say
why, grants and rotations skip and report the junk, and the patient can dispute each entry."""

import hashlib
import os
import time

import pytest

from app.carechain.errors import IntegrityError, MissingObject, ServiceUnavailable, TransactionFailed
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse


def index_junk(carechain, doctor, patient, digest):
    """What a hostile doctor can do without the library: call the contract directly."""
    carechain.chain.transact(doctor, "addRecord", patient.address, digest, int(Category.VITALS))
    return carechain.record(patient.address, digest)


@pytest.fixture
def junk(carechain, people, new_patient, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    other = new_patient()
    foreign = carechain.add_record(other, other.address, pulse(other, 90))
    not_an_envelope = carechain.store.put(b"just some bytes " + os.urandom(8))
    return [index_junk(carechain, people.doctor, patient, digest) for digest in (
        hashlib.sha256(os.urandom(16)).digest(),  # nothing stored anywhere
        not_an_envelope,
        foreign.digest,
    )]


def test_junk_entries_fail_fast_with_a_reason(carechain, patient, junk):
    started = time.monotonic()
    for entry in junk:
        with pytest.raises(IntegrityError):
            carechain.read_record(patient, patient.address, entry.digest)
    assert time.monotonic() - started < 5  # seconds for all three, not 60 s each
    with pytest.raises(MissingObject, match="not on this deployment's IPFS node"):
        carechain.read_record(patient, patient.address, junk[0].digest)


def test_granting_skips_junk_and_delivers_the_real_records(carechain, people, patient, junk):
    real = carechain.add_record(patient, patient.address, pulse(patient, 65))
    carechain.unreadable.clear()
    carechain.grant(patient, people.colleague.address, [Category.VITALS], False, days_from_now(carechain, 5))

    assert {e.digest for e in carechain.unreadable} == {e.digest for e in junk}
    assert carechain.read_record(people.colleague, patient.address, real.digest).record.resource["valueQuantity"]


def test_revocation_rotates_around_junk(carechain, people, patient, junk):
    real = carechain.add_record(patient, patient.address, pulse(patient, 64))
    rotation = carechain.revoke(patient, people.doctor.address)

    assert [e.digest for e in rotation.skipped] == [e.digest for e in junk]
    (new,) = rotation.rotated
    assert carechain.record(patient.address, real.digest).superseded_by == new.number
    assert carechain.pending_rotation(patient.address) is None


def test_an_interrupted_rotation_is_resumed_and_finishes(carechain, services, people, patient, junk):
    real = [carechain.add_record(patient, patient.address, pulse(patient, 60 + i)) for i in range(3)]
    carechain.revoke(patient, people.doctor.address, rotate=False)
    services.stop_ipfs()
    try:
        with pytest.raises(ServiceUnavailable):
            carechain.rotate(patient, [Category.VITALS], f"revoking {people.doctor.address}")
    finally:
        services.start_ipfs()
    pending = carechain.pending_rotation(patient.address)
    assert pending.categories == [Category.VITALS] and people.doctor.address in pending.reason

    rotation = carechain.resume_rotation(patient)

    assert len(rotation.rotated) == 3 and len(rotation.skipped) == 3
    assert all(carechain.record(patient.address, e.digest).superseded_by for e in real)
    assert carechain.pending_rotation(patient.address) is None
    assert not any(carechain.store.is_pinned(e.digest) for e in real)


def test_the_patient_disputes_a_junk_entry(carechain, people, patient, junk):
    flagged = carechain.dispute(patient, junk[1].digest)
    assert flagged.disputed and flagged.number == junk[1].number
    assert carechain.dispute(patient, junk[1].digest).disputed  # a double click changes nothing
    assert not carechain.dispute(patient, junk[1].digest, False).disputed
    with pytest.raises(TransactionFailed, match="there is no such record"):  # only the patient's own entries
        carechain.chain.transact(people.doctor, "disputeRecord", junk[0].digest, True)
