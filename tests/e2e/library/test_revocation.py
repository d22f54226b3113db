"""Revocation ends access at once; rotation (the default) re-encrypts the affected records under
new keys for the remaining readers, supersedes the old entries and deletes the old ciphertext."""

import base64
import dataclasses

import pytest
import requests

from app.carechain import crypto, envelope
from app.carechain.errors import AccessDenied
from app.carechain.flows import CareChain
from app.carechain.records import Category
from scripts import localipfs
from scripts.services import LocalServices, free_port
from tests.e2e.helpers import days_from_now, pulse


@pytest.fixture(scope="module")
def small_node(services, tmp_path_factory):
    """An IPFS node of this module's own. By this point of a run the session's node holds many
    thousand blocks, and js-ipfs's mark and sweep over them can take minutes (seen in CI)."""
    root = tmp_path_factory.mktemp("small-node")
    node = localipfs.IpfsNode(repo=root / "ipfs", api_port=free_port(), gateway_port=free_port(),
                              rpc_port=free_port(), swarm_port=free_port())
    own = LocalServices(services.chain_settings, node, root / "logs")
    own.start_ipfs()
    yield node
    own.stop_ipfs()


@pytest.fixture
def on_small_node(stack, small_node):
    client = CareChain.connect(dataclasses.replace(stack[1], ipfs_api=small_node.api_multiaddr))
    yield client
    client.close()


def blocks_on_node(node: localipfs.IpfsNode) -> str:
    """Every block in the IPFS node's store (the standard refs/local call), named by raw CIDv1."""
    return requests.post(f"{node.api_url}/refs/local", timeout=30).text


def block_name(digest: bytes) -> str:
    """How refs/local names the block with this sha2-256 digest: CIDv1, raw codec, base32."""
    return "b" + base64.b32encode(bytes([1, 0x55, 0x12, 0x20]) + digest).decode().lower().rstrip("=")


def test_revoke_with_rotation_leaves_old_keys_opening_nothing_current(on_small_node, small_node, people, patient):
    carechain = on_small_node
    old = carechain.add_record(patient, patient.address, pulse(patient, 66))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    carechain.grant(patient, people.other_hospital.address, [Category.VITALS], False, days_from_now(carechain, 5))
    old_header = envelope.decode_header(carechain.store.get(old.digest))
    revoked_key = crypto.unwrap_key(
        carechain._delivered_key(people.doctor.address, patient.address, old.digest),
        people.doctor.address, people.doctor.key)

    (new,) = carechain.revoke(patient, people.doctor.address).rotated

    assert carechain.record(patient.address, old.digest).superseded_by == new.number
    assert not carechain.store.is_pinned(old.digest)
    # The rotation waited GC_TIMEOUT for the collection, which goes on in the background on a large store.
    assert carechain.store.collect_garbage(wait=60)
    stored = blocks_on_node(small_node)
    assert block_name(new.digest) in stored and block_name(old.digest) not in stored  # collected, not only unpinned
    assert [e.digest for e in carechain.all_records(patient.address)] == [new.digest]
    header, ciphertext = envelope.decode(carechain.store.get(new.digest))
    assert people.doctor.address not in header.keys
    assert header.author == old_header.author and header.created_at == old_header.created_at
    with pytest.raises(Exception, match="does not decrypt"):
        crypto.open_sealed(revoked_key, header.nonce, ciphertext, header.associated_data())
    with pytest.raises(AccessDenied):
        carechain.read_record(people.doctor, patient.address, new.digest)
    # the remaining grantee (through its doctor) and the patient read the rotated record, verified
    assert carechain.read_record(people.outsider, patient.address, new.digest).record.resource["valueQuantity"]["value"] == 66
    assert carechain.read_record(patient, patient.address, new.digest).author == patient.address


def test_rotation_keeps_a_doctors_signature_valid(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 5))
    written = carechain.add_record(people.doctor, patient.address, pulse(patient, 101))
    (rotated,) = carechain.revoke(patient, people.doctor.address).rotated
    opened = carechain.read_record(patient, patient.address, rotated.digest)
    assert (opened.author, opened.author_role, rotated.author) == (people.doctor.address, "doctor", patient.address)
    assert written.superseded_by == 0 and carechain.record(patient.address, written.digest).superseded_by == rotated.number


def test_revoke_without_rotation_changes_no_record(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 5))
    assert carechain.revoke(patient, people.doctor.address, rotate=False).rotated == []
    assert carechain.all_records(patient.address) == [entry] and carechain.store.is_pinned(entry.digest)
