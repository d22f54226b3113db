"""A re-encrypted or corrected record is a new entry on chain; people see it as the same record:
its first version's number, listed once in its current version, its versions one lookup away, and
one audit event per change, a re-encryption saying why it was made (kept off chain)."""

import hashlib
import os

import pytest

from app.carechain import jsonfile
from app.carechain.errors import ServiceUnavailable
from app.carechain.index import EventIndex
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse


def test_a_re_encrypted_record_keeps_its_first_number_and_place(carechain, people, patient):
    added = [carechain.add_record(patient, patient.address, pulse(patient, 60 + i)) for i in range(3)]
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    before = carechain.current_records(patient.address)

    rotated = carechain.revoke(patient, people.doctor.address).rotated

    assert [(e.number, e.origin) for e in rotated] == [(4, 1), (5, 2), (6, 3)]
    after = carechain.current_records(patient.address)
    assert (after.total, after.unconfirmed) == (3, 0)
    assert [e.origin for e in after.entries] == [e.origin for e in before.entries] == [3, 2, 1]
    assert [e.digest for e in after.entries] == [e.digest for e in reversed(rotated)]
    assert all(e.has_versions and not e.superseded_by for e in after.entries)
    assert not any(e.has_versions for e in before.entries)
    numbers = carechain.record_numbers(patient.address, [e.digest for e in added + rotated])
    assert [numbers[e.digest].origin for e in added + rotated] == [1, 2, 3, 1, 2, 3]
    assert carechain.record(patient.address, rotated[0].digest).origin == 1
    assert carechain.read_record(patient, patient.address, rotated[0].digest, log=False).entry.origin == 1


def test_pages_of_current_records_leave_superseded_versions_out(carechain, people, patient):
    for value in range(60, 65):
        carechain.add_record(patient, patient.address, pulse(patient, value))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    carechain.revoke(patient, people.doctor.address)
    carechain.add_record(patient, patient.address, pulse(patient, 70))  # number 11 on chain, the 6th record

    pages = [carechain.current_records(patient.address, limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [[e.origin for e in page.entries] for page in pages] == [[11, 5, 4, 3], [2, 1], []]
    assert {page.total for page in pages} == {6}
    assert all(e.superseded_by == 0 for page in pages for e in page.entries)


def test_the_index_links_versions_as_the_chain_does(carechain, people, new_patient, tmp_path):
    patient = new_patient()
    for value in (60, 61):
        carechain.add_record(patient, patient.address, pulse(patient, value))
    carechain.grant(patient, people.doctor.address, [Category.VITALS, Category.LABS], True,
                    days_from_now(carechain, 5))
    carechain.add_record(people.doctor, patient.address, pulse(patient, 62))
    narrow_to_labs(carechain, patient, people.doctor.address)
    carechain.grant(patient, people.colleague.address, [Category.VITALS], False, days_from_now(carechain, 5))
    carechain.revoke(patient, people.colleague.address)  # every record re-encrypted a second time

    entries = carechain.all_records(patient.address, current_only=False)
    origin_on_chain = {}
    for entry in entries:  # oldest first: a version's predecessor comes before it
        origin_on_chain.setdefault(entry.number, entry.number)
        if entry.superseded_by:
            origin_on_chain[entry.superseded_by] = origin_on_chain[entry.number]
    index = EventIndex(tmp_path / "index.sqlite", carechain.chain)  # built from scratch, as after a restart
    index.sync(carechain.chain)
    assert index.record_numbers(patient.address, [e.digest for e in entries]) == \
        {e.digest: (e.number, origin_on_chain[e.number]) for e in entries}
    assert [origin for _, (_, origin) in index.current_records(patient.address, 10)] == [3, 2, 1]
    assert [number for _, (number, _) in index.versions(patient.address, entries[0].digest)] == [1, 4, 7]


def test_a_record_history_says_why_each_version_was_written(carechain, people, patient):
    first = carechain.add_record(patient, patient.address, pulse(patient, 66))
    carechain.grant(patient, people.doctor.address, [Category.VITALS, Category.LABS], False,
                    days_from_now(carechain, 5))
    narrow_to_labs(carechain, patient, people.doctor.address)
    carechain.revoke(patient, people.doctor.address)  # labs only: this record is not re-encrypted again
    carechain.grant(patient, people.colleague.address, [Category.VITALS], False, days_from_now(carechain, 5))
    (last,) = carechain.revoke(patient, people.colleague.address).rotated

    history = carechain.record_history(patient.address, first.digest)
    assert history == carechain.record_history(patient.address, last.digest)
    assert [(v.entry.origin, v.change, v.reason) for v in history] == [
        (first.number, "added", None),
        (first.number, "re-encrypted", f"narrowing {people.doctor.address}'s grant"),
        (first.number, "re-encrypted", f"revoking {people.colleague.address}"),
    ]
    assert [v.entry.superseded_by != 0 for v in history] == [True, True, False]
    assert carechain.record_history(patient.address, hashlib.sha256(b"no such record").digest()) == []


def test_a_re_encryption_is_one_audit_event_with_its_reason(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient, 66))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    (new,) = carechain.revoke(patient, people.doctor.address).rotated

    trail = carechain.audit_trail(patient.address, kinds=["records"])
    assert [e.kind for e in trail] == ["record added", "record re-encrypted"]
    details = trail[1].details
    assert (details["oldDigest"], details["newDigest"], details["number"], details["category"]) == (
        entry.digest.hex(), new.digest.hex(), new.number, int(Category.VITALS))
    assert (trail[1].actor, details["reason"]) == (patient.address, f"revoking {people.doctor.address}")
    assert [e.kind for e in carechain.audit_trail(patient.address)].count("record added") == 1


def test_a_re_encryption_whose_reason_was_lost_still_reads_as_one(carechain, people, patient):
    carechain.add_record(patient, patient.address, pulse(patient, 66))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    carechain.revoke(patient, people.doctor.address)
    reasons = jsonfile.read(carechain.journal.reasons_path)
    del reasons[patient.address]  # e.g. the server's data folder was restored from an older backup
    jsonfile.write(carechain.journal.reasons_path, reasons)

    (event,) = carechain.audit_trail(patient.address, kinds=["records"])[1:]
    assert (event.kind, event.details["reason"]) == ("record re-encrypted", None)
    assert carechain.record_history(patient.address, bytes.fromhex(event.details["newDigest"]))[1].reason is None


def test_a_doctors_correction_is_a_version_not_a_re_encryption(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    written = carechain.add_record(people.doctor, patient.address, pulse(patient, 99))
    correction = hashlib.sha256(os.urandom(16)).digest()
    carechain.chain.transact(people.doctor, "supersedeRecord", patient.address, written.digest, correction)

    (event,) = carechain.audit_trail(patient.address, kinds=["records"])[1:]
    assert (event.kind, event.actor, event.actor_role) == ("record corrected", people.doctor.address, "doctor")
    assert "reason" not in event.details
    history = carechain.record_history(patient.address, correction)
    assert [(v.change, v.entry.author, v.entry.origin) for v in history] == [
        ("added", people.doctor.address, written.number), ("corrected", people.doctor.address, written.number)]


def test_a_resumed_rotation_keeps_the_reason_of_the_versions_written_before_it_stopped(
        carechain, services, people, patient, monkeypatch):
    added = [carechain.add_record(patient, patient.address, pulse(patient, 60 + i)) for i in range(3)]
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    unpin = carechain.store.unpin

    def node_stops_after_the_first_new_version(digest):
        services.stop_ipfs()  # the first new version is indexed; the node goes before the old one is unpinned
        return unpin(digest)

    monkeypatch.setattr(carechain.store, "unpin", node_stops_after_the_first_new_version)
    try:
        with pytest.raises(ServiceUnavailable):
            carechain.revoke(patient, people.doctor.address)
    finally:
        monkeypatch.undo()
        services.start_ipfs()
    assert carechain.record(patient.address, added[0].digest).superseded_by  # one version was written
    assert carechain.pending_rotation(patient.address).reason == f"revoking {people.doctor.address}"

    rotation = carechain.resume_rotation(patient)

    assert len(rotation.rotated) == 2
    current = carechain.current_records(patient.address).entries
    assert [e.origin for e in current] == [3, 2, 1]
    assert [carechain.record_history(patient.address, e.digest)[-1].reason for e in current] == \
        [f"revoking {people.doctor.address}"] * 3
    assert not any(carechain.store.is_pinned(e.digest) for e in added)


def test_a_disputed_record_stays_disputed_when_re_encrypted(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    contested = carechain.add_record(people.doctor, patient.address, pulse(patient, 99))
    carechain.dispute(patient, contested.digest)
    (new,) = carechain.revoke(patient, people.doctor.address).rotated
    assert carechain.record(patient.address, new.digest).disputed


def narrow_to_labs(carechain, patient, grantee):
    """Drops vitals from a grant, re-encrypting them; the end of access stays (it may not move later)."""
    expires_at = carechain.grant_of(patient.address, grantee).expires_at
    carechain.narrow(patient, grantee, [Category.LABS], False, expires_at, rotate=True)


def test_an_entry_the_chain_does_not_hold_is_left_out_of_the_list(carechain, patient):
    real = carechain.add_record(patient, patient.address, pulse(patient, 66))
    carechain.indexed()
    invented = hashlib.sha256(os.urandom(16)).digest()  # as an index gone astray would hold it
    rows = carechain.index._db
    rows.execute("INSERT INTO records VALUES (?, ?, 2, 2, ?, 0)", (patient.address, invented, patient.address))
    try:
        listed = carechain.current_records(patient.address)
    finally:
        rows.execute("DELETE FROM records WHERE digest = ?", (invented,))
    assert [e.digest for e in listed.entries] == [real.digest]
    assert (listed.total, listed.unconfirmed) == (2, 1)
