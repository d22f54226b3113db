"""The patient's audit trail, built from chain events: grants, renewals, revocations, records and
reads, in order, with times; read in pages back through the whole history, and narrowed to one
kind of event so that a flood of another kind hides nothing."""

import pytest

from app.carechain.errors import InvalidInput
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse


def test_audit_trail_lists_every_event_in_order(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    expiry = days_from_now(carechain, 2)
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, expiry)
    carechain.read_record(people.doctor, patient.address, entry.digest)
    carechain.renew(patient, people.doctor.address, expiry + 86400)
    carechain.revoke(patient, people.doctor.address, rotate=False)

    trail = carechain.audit_trail(patient.address)
    assert [(event.kind, event.actor, event.actor_role) for event in trail] == [
        ("record added", patient.address, "patient"),
        ("granted", patient.address, "patient"),
        ("read", people.doctor.address, "doctor"),
        ("renewed", patient.address, "patient"),
        ("revoked", patient.address, "patient"),
    ]
    granted = trail[1].details
    assert (granted["grantee"], granted["categories"], granted["canWrite"]) == (people.doctor.address, ["Vitals"], False)
    assert [event.time for event in trail] == sorted(event.time for event in trail)
    assert all(event.block > 0 for event in trail)


def test_a_page_of_the_audit_trail_is_its_newest_events(carechain, patient):
    for value in (60, 61, 62, 63):
        carechain.add_record(patient, patient.address, pulse(patient, value))
    trail = carechain.audit_trail(patient.address)
    assert carechain.audit_trail(patient.address, limit=2) == trail[-2:]
    assert carechain.audit_trail(patient.address, limit=100) == trail
    numbers = carechain.record_numbers(patient.address, [event.details["digest"] and bytes.fromhex(
        event.details["digest"]) for event in trail])
    assert sorted(origin for _, origin in numbers.values()) == [1, 2, 3, 4]


def test_paging_back_reaches_every_event_exactly_once(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 2))
    for _ in range(3):
        carechain.chain.transact(people.doctor, "logRead", patient.address, entry.digest)
    log_reads_in_one_block(carechain, people.doctor, patient.address, entry.digest, 5)
    carechain.revoke(patient, people.doctor.address, rotate=False)

    trail = carechain.audit_trail(patient.address)
    assert len(trail) == 11
    assert len({event.block for event in trail if event.kind == "read"}) == 4  # five reads share a block
    assert len({event.position for event in trail}) == 11
    for limit in (1, 2, 3, 4, 7, 11, 50):
        pages = pages_back(carechain, patient.address, limit)
        assert all(0 < len(page) <= limit for page in pages)
        assert [event for page in reversed(pages) for event in page] == trail, f"pages of {limit}"


def test_paging_back_from_an_event_leaves_out_it_and_everything_newer(carechain, patient):
    for value in (70, 71, 72):
        carechain.add_record(patient, patient.address, pulse(patient, value))
    trail = carechain.audit_trail(patient.address)
    assert carechain.audit_trail(patient.address, before=trail[2].position) == trail[:2]
    assert carechain.audit_trail(patient.address, limit=1, before=trail[2].position) == trail[1:2]
    assert carechain.audit_trail(patient.address, before=trail[0].position) == []
    assert carechain.audit_trail(patient.address, before=(0, 0)) == []


def test_kind_filters_keep_only_their_events(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 2))
    carechain.read_record(people.doctor, patient.address, entry.digest)
    carechain.narrow(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    carechain.revoke(patient, people.doctor.address, rotate=True)  # re-encrypts: a replaced record

    trail = carechain.audit_trail(patient.address)
    kinds_of = {"grants": {"granted", "renewed", "narrowed", "revoked"},
                "records": {"record added", "record re-encrypted", "record corrected", "record disputed",
                            "dispute withdrawn"},
                "reads": {"read"}}
    for name, kinds in kinds_of.items():
        assert carechain.audit_trail(patient.address, kinds=[name]) == [e for e in trail if e.kind in kinds]
    assert [e.kind for e in carechain.audit_trail(patient.address, kinds=["grants"])] == ["granted", "narrowed",
                                                                                          "revoked"]
    assert [e.kind for e in carechain.audit_trail(patient.address, kinds=["records"])] == [
        "record added", "record re-encrypted"]
    assert carechain.audit_trail(patient.address, kinds=["grants", "reads"]) == [
        e for e in trail if e.kind in kinds_of["grants"] | kinds_of["reads"]]
    with pytest.raises(InvalidInput, match="no such kind of audit event: logins"):
        carechain.audit_trail(patient.address, kinds=["logins"])


def test_a_flood_of_reads_hides_no_grant_from_the_grants_filter_or_paging(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 2))
    for _ in range(4):
        log_reads_in_one_block(carechain, people.doctor, patient.address, entry.digest, 30)

    assert [e.kind for e in carechain.audit_trail(patient.address, limit=100)] == ["read"] * 100
    assert [e.kind for e in carechain.audit_trail(patient.address, limit=1, kinds=["grants"])] == ["granted"]
    older = carechain.audit_trail(patient.address, limit=100, before=carechain.audit_trail(
        patient.address, limit=100)[0].position)
    assert [e.kind for e in older] == ["record added", "granted"] + ["read"] * 20


def test_disputes_appear_among_the_records(carechain, patient):
    if not any(item.get("name") == "RecordDisputed" for item in carechain.chain.contract.abi):
        pytest.skip("the deployed contract has no RecordDisputed event yet")
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.chain.transact(patient, "disputeRecord", entry.digest, True)
    carechain.chain.transact(patient, "disputeRecord", entry.digest, False)
    trail = carechain.audit_trail(patient.address, kinds=["records"])
    assert [e.kind for e in trail] == ["record added", "record disputed", "dispute withdrawn"]
    assert trail[1].details["digest"] == entry.digest.hex()


def pages_back(carechain, patient: str, limit: int) -> list[list]:
    """Every page of `limit` events, newest page first, each found from the previous one's oldest event."""
    pages = [carechain.audit_trail(patient, limit=limit)]
    while True:
        older = carechain.audit_trail(patient, limit=limit, before=pages[-1][0].position)
        if not older:
            return pages
        pages.append(older)


def log_reads_in_one_block(carechain, reader, patient: str, digest: bytes, count: int) -> None:
    """`count` logRead transactions of `reader`, all mined in one block: the miner is stopped while
    they are sent."""
    w3, chain = carechain.chain.w3, carechain.chain
    call = chain.contract.functions.logRead(patient, digest)
    w3.provider.make_request("miner_stop", [])
    try:
        nonce = w3.eth.get_transaction_count(reader.address, "pending")
        hashes = [w3.eth.send_raw_transaction(reader.sign_transaction(call.build_transaction({
            "from": reader.address, "chainId": chain.chain_id, "nonce": nonce + index, "gas": 100_000,
        })).raw_transaction) for index in range(count)]
    finally:
        w3.provider.make_request("miner_start", [])
    receipts = [w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.02) for tx_hash in hashes]
    assert all(receipt["status"] == 1 for receipt in receipts)
    assert len({receipt["blockNumber"] for receipt in receipts}) == 1
