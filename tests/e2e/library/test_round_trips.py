"""Fewer round trips, the same guarantees: fetched bytes are verified locally (the CID computed here
equals the node's own for sizes around the 256 KiB chunk boundary and for multi-level trees), a
damaged or laid-out-otherwise object still goes to the node's hashing; cached gas estimates still
refuse in words before anything is sent, and a transaction that outgrows its cached estimate is
estimated again; a cached deployment check still refuses a replaced chain."""

import io
import os

import pytest

from app.carechain import chain as chain_module
from app.carechain.errors import IntegrityError, ServiceUnavailable, TransactionFailed
from app.carechain.ipfs import CHUNK_SIZE, IpfsStore, cid_digest, digest_of
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse


@pytest.mark.parametrize("size", [0, 1, 1024, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE,
                                  1 << 20, 174 * CHUNK_SIZE + 1])
def test_the_local_cid_equals_the_nodes(carechain, size):
    data = os.urandom(size)
    node = carechain.store._client.add(io.BytesIO(data), only_hash=True, cid_version=0)["Hash"]
    assert cid_digest(data) == digest_of(node)


@pytest.mark.parametrize("size", [1024, CHUNK_SIZE + 1])
def test_a_fetch_is_verified_without_asking_the_node_to_hash(carechain, size, monkeypatch):
    digest = carechain.store.put(os.urandom(size))
    monkeypatch.setattr(carechain.store._client, "add", lambda *a, **k: pytest.fail("the node was asked to hash"))
    assert cid_digest(carechain.store.get(digest)) == digest


@pytest.mark.parametrize("size", [1024, 3 * CHUNK_SIZE])
def test_damaged_bytes_are_reported_after_the_nodes_own_hashing(carechain, size, monkeypatch):
    data = os.urandom(size)
    digest = carechain.store.put(data)
    damaged = data[:-1] + bytes([data[-1] ^ 1])
    asked = []
    original_add = carechain.store._client.add
    monkeypatch.setattr(carechain.store._client, "add", lambda *a, **k: asked.append(k) or original_add(*a, **k))
    monkeypatch.setattr(IpfsStore, "_fetch", lambda self, digest, options: damaged)
    with pytest.raises(IntegrityError, match="damaged"):
        carechain.store.get(digest)
    assert asked and asked[0]["only_hash"]  # the node had the last word


def test_bytes_laid_out_otherwise_are_verified_by_the_node(carechain):
    """An object added with another chunker (as another node's settings might) has a CID that
    `cid_digest` does not reproduce: the node's hashing of the same layout is not it either, so
    only objects added with the default layout are ever accepted; this one is refused as damaged
    rather than returned unverified."""
    data = os.urandom(3000)
    cid = carechain.store._client.add(io.BytesIO(data), pin=True, cid_version=0, chunker="size-1000")["Hash"]
    digest = digest_of(cid)
    assert cid_digest(data) != digest
    with pytest.raises(IntegrityError, match="damaged"):
        carechain.store.get(digest)


def test_refusals_are_explained_in_words_once_the_gas_estimate_is_cached(carechain, people, patient, new_patient):
    other = new_patient()
    carechain.add_record(other, other.address, pulse(other))  # addRecord's gas is now cached
    assert any(shape[0] == "addRecord" for shape in chain_module._GAS)
    with pytest.raises(TransactionFailed, match="no right to add records of this kind"):
        carechain.chain.transact(people.outsider, "addRecord", patient.address, bytes(range(32)),
                                 int(Category.VITALS))
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    with pytest.raises(TransactionFailed, match="already stored"):
        carechain.chain.transact(patient, "addRecord", patient.address, entry.digest, int(Category.VITALS))
    assert carechain.participant(patient.address).record_count == 1


def test_a_cached_estimate_that_falls_short_is_estimated_again(carechain, people, patient, monkeypatch):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 3))
    abi = next(item for item in carechain.chain.contract.abi if item.get("name") == "addRecord")
    shape = ("addRecord", tuple(i["type"] for i in abi["inputs"]))
    monkeypatch.setitem(chain_module._GAS, shape, 30_000)  # far below what a doctor's addRecord takes
    entry = carechain.add_record(people.doctor, patient.address, pulse(patient, 66))
    assert carechain.chain.receipts[-1]["status"] == 1
    assert chain_module._GAS[shape] > 30_000
    assert carechain.read_record(patient, patient.address, entry.digest).record.resource["valueQuantity"]["value"] == 66


def test_a_cached_deployment_check_refuses_a_replaced_chain(carechain, monkeypatch):
    carechain.chain.check_deployment()
    (key, _), = [(k, v) for k, v in chain_module._DEPLOYMENTS.items() if k[0] == carechain.chain.rpc_url
                 and k[2] == carechain.chain.address]
    carechain.chain.check_deployment(cached=True)  # the same chain: fine
    monkeypatch.setitem(chain_module._DEPLOYMENTS, key, "0x" + "00" * 32)  # as if the chain had been replaced
    with pytest.raises(ServiceUnavailable, match="replaced"):
        carechain.chain.check_deployment(cached=True)
    assert key not in chain_module._DEPLOYMENTS  # the next connection checks in full
    carechain.chain.check_deployment(cached=True)


def test_an_add_confirms_every_reader_in_one_call(carechain, people, patient, monkeypatch):
    """A hospital's grant covers its doctors: the add seals the record's key for the hospital, both
    its doctors and a doctor with a grant of their own, and the chain confirms all four in one
    `canAccessEach` call (one `canAccess` call each before)."""
    carechain.grant(patient, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 3))
    carechain.grant(patient, people.outsider.address, [Category.VITALS], False, days_from_now(carechain, 3))
    asked = []
    call_many = chain_module.Chain.call_many
    monkeypatch.setattr(chain_module.Chain, "call_many",
                        lambda chain, calls: asked.extend(name for name, _ in calls) or call_many(chain, calls))
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    assert asked.count("canAccessEach") == 1 and "canAccess" not in asked, asked
    monkeypatch.undo()
    for reader in (people.hospital, people.doctor, people.colleague, people.outsider):
        assert carechain.read_record(reader, patient.address, entry.digest, log=False).record.category == Category.VITALS
