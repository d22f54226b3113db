"""Tampered ciphertext, a swapped CID, a forged or wrong-author signature and a wrong key are each
detected with a clear error; nothing is returned half-verified."""

import dataclasses

import pytest
from eth_utils import keccak

from app.carechain import crypto, envelope
from app.carechain.errors import IntegrityError
from app.carechain.records import Category
from app.carechain.summaries import Summary
from tests.e2e.helpers import days_from_now, pulse


def index_raw(carechain, author, patient, data, category=Category.VITALS):
    """Stores bytes as they are and indexes them, as a malicious writer with write access could."""
    digest = carechain.store.put(data)
    carechain.chain.transact(author, "addRecord", patient.address, digest, int(category))
    return digest


@pytest.fixture
def writer(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    return people.doctor


def test_tampered_ciphertext(carechain, patient, writer):
    entry = carechain.add_record(writer, patient.address, pulse(patient))
    data = bytearray(carechain.store.get(entry.digest))
    data[-20] ^= 0x01
    digest = index_raw(carechain, writer, patient, bytes(data))
    with pytest.raises(IntegrityError, match="does not decrypt"):
        carechain.read_record(patient, patient.address, digest)


def test_tampered_header(carechain, patient, writer):
    entry = carechain.add_record(writer, patient.address, pulse(patient))
    header, ciphertext = envelope.decode(carechain.store.get(entry.digest))
    later = dataclasses.replace(header, created_at=header.created_at + 3600)
    digest = index_raw(carechain, writer, patient, envelope.encode(later, ciphertext))
    with pytest.raises(IntegrityError, match="does not decrypt"):
        carechain.read_record(patient, patient.address, digest)


def test_swapped_cid_pointing_at_another_patients_record(carechain, people, new_patient, writer, patient):
    other = new_patient()
    foreign = carechain.add_record(other, other.address, pulse(other))
    carechain.chain.transact(writer, "addRecord", patient.address, foreign.digest, int(Category.VITALS))
    with pytest.raises(IntegrityError, match="another patient"):
        carechain.read_record(patient, patient.address, foreign.digest)


def test_forged_signature(carechain, patient, writer):
    """A doctor builds an envelope claiming another doctor wrote it, signed with their own key."""
    entry = carechain.add_record(writer, patient.address, pulse(patient))
    header, ciphertext = envelope.decode(carechain.store.get(entry.digest))
    key = crypto.unwrap_key(header.keys[patient.address], patient.address, patient.key)
    signature, body, resource_json, attachment = envelope.unpack_payload(
        crypto.open_sealed(key, header.nonce, ciphertext, header.associated_data()))
    forged = bytes(65)  # an all-zero signature recovers to no one, or to garbage
    payload, _ = envelope.pack_payload(forged, resource_json, attachment)
    digest = index_raw(carechain, writer, patient, envelope.encode(
        header, crypto.seal(key, header.nonce, payload, header.associated_data())))
    with pytest.raises(IntegrityError, match="signature"):
        carechain.read_record(patient, patient.address, digest)


def test_signature_by_someone_other_than_the_stated_author(carechain, people, patient, writer):
    record = pulse(patient, 77)
    body = envelope.body_of(record.resource_json, record.attachment)
    signature = crypto.sign_record(carechain.domain, people.colleague.key, patient.address, writer.address,
                                   int(record.category), record.created_at, keccak(body))
    payload, _ = envelope.pack_payload(signature, record.resource_json, record.attachment)
    fields = dict(patient=patient.address, author=writer.address, category=int(record.category),
                  created_at=record.created_at)
    data = carechain._encrypt(writer.key, b"test", fields, payload, {patient.address, writer.address},
                              Summary.of(record).to_bytes())
    digest = index_raw(carechain, writer, patient, data)
    with pytest.raises(IntegrityError, match="not by its stated author"):
        carechain.read_record(patient, patient.address, digest)


def test_a_summary_that_misstates_its_record_is_caught_when_the_record_is_opened(carechain, patient, writer):
    """A writer in bad faith lists a worrying result as reassuring: the list shows the author's
    words (as the author's, bound to them on chain), and opening the record reports the mismatch."""
    record = pulse(patient, 190)
    body = envelope.body_of(record.resource_json, record.attachment)
    signature = crypto.sign_record(carechain.domain, writer.key, patient.address, writer.address,
                                   int(record.category), record.created_at, keccak(body))
    payload, _ = envelope.pack_payload(signature, record.resource_json, record.attachment)
    fields = dict(patient=patient.address, author=writer.address, category=int(record.category),
                  created_at=record.created_at)
    lie = dataclasses.replace(Summary.of(record), title="Heart rate: 72 beats/minute")
    digest = index_raw(carechain, writer, patient, carechain._encrypt(
        writer.key, b"lie", fields, payload, {patient.address, writer.address}, lie.to_bytes()))
    (listed,) = [row for row in carechain.list_records(patient, patient.address).records if row.entry.digest == digest]
    assert listed.summary.title == "Heart rate: 72 beats/minute" and listed.author == writer.address
    with pytest.raises(IntegrityError, match="title or clinical date in lists does not match"):
        carechain.read_record(patient, patient.address, digest)


def test_wrong_key(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    header = envelope.decode_header(carechain.store.get(entry.digest))
    with pytest.raises(IntegrityError, match="does not open"):
        crypto.unwrap_key(header.keys[patient.address], people.doctor.address, people.doctor.key)
    with pytest.raises(IntegrityError, match="does not open"):
        crypto.unwrap_key(header.keys[patient.address], patient.address, people.doctor.key)


def test_damaged_block_in_the_ipfs_store_is_reported(carechain, services, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    original = carechain.store.get(entry.digest)
    blocks = list((services.ipfs_node.repo / "blocks").rglob("*.data"))
    damaged = [path for path in blocks if original[-64:] in path.read_bytes()]
    assert damaged, "the record's block was not found in the node's block store"
    content = damaged[0].read_bytes()
    damaged[0].write_bytes(content.replace(original[-64:], bytes(64)))
    with pytest.raises(IntegrityError, match="damaged"):
        carechain.read_record(patient, patient.address, entry.digest)
