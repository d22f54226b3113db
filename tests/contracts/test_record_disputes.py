"""A patient flags an entry of its own index as disputed, or withdraws the dispute: the entry stays
(the index is append-only), the flag is the entry's fifth field, and only the patient sets it."""

import brownie
from conftest import LABS, VITALS, digest, grant, mask, typed_error


def disputed(registered, patient, label):
    return registered.recordOf(patient, digest(label))["disputed"]


def test_patient_disputes_a_record_written_by_a_doctor(registered, people):
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    registered.addRecord(people.patient, digest("junk"), LABS, {"from": people.doctor})
    assert disputed(registered, people.patient, "junk") is False

    tx = registered.disputeRecord(digest("junk"), True, {"from": people.patient})

    assert tx.events["RecordDisputed"] == {
        "patient": people.patient,
        "digest": "0x" + digest("junk").hex(),
        "disputed": True,
    }
    assert len(tx.events) == 1
    assert disputed(registered, people.patient, "junk") is True


def test_dispute_changes_nothing_else(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    before = registered.recordOf(people.patient, digest("bp"))
    registered.disputeRecord(digest("bp"), True, {"from": people.patient})
    after = registered.recordOf(people.patient, digest("bp"))
    assert tuple(after)[:4] == tuple(before)[:4]
    assert registered.recordCount(people.patient) == 1


def test_only_the_patient_disputes_its_records(registered, people):
    """Anyone else, the record's author included, asks about its own (empty) index and gets
    RecordIndexUnknownRecord for itself."""
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    registered.addRecord(people.patient, digest("junk"), LABS, {"from": people.doctor})
    for account in (people.doctor, people.hospital, people.other_patient, people.stranger, people.admin):
        with brownie.reverts(typed_error("RecordIndexUnknownRecord", account, digest("junk"))):
            registered.disputeRecord(digest("junk"), True, {"from": account})
    assert disputed(registered, people.patient, "junk") is False


def test_unknown_digest_is_refused(registered, people):
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("nope"))):
        registered.disputeRecord(digest("nope"), True, {"from": people.patient})
    registered.addRecord(people.other_patient, digest("theirs"), VITALS, {"from": people.other_patient})
    with brownie.reverts(typed_error("RecordIndexUnknownRecord", people.patient, digest("theirs"))):
        registered.disputeRecord(digest("theirs"), True, {"from": people.patient})
    assert disputed(registered, people.other_patient, "theirs") is False


def test_dispute_toggles_and_repeats(registered, people):
    """True, true again (a double click), withdrawn, withdrawn again: each succeeds and is logged."""
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    for value in (True, True, False, False, True):
        tx = registered.disputeRecord(digest("bp"), value, {"from": people.patient})
        assert tx.events["RecordDisputed"]["disputed"] is value
        assert disputed(registered, people.patient, "bp") is value


def test_flag_is_the_fifth_field_in_record_of_and_records_of(registered, people):
    for label in ("a", "b", "c"):
        registered.addRecord(people.patient, digest(label), VITALS, {"from": people.patient})
    registered.disputeRecord(digest("b"), True, {"from": people.patient})

    assert registered.recordOf(people.patient, digest("b"))[4] is True
    records = registered.recordsOf(people.patient, [digest("a"), digest("b"), digest("c")])
    assert [r["disputed"] for r in records] == [False, True, False]
    assert [r[4] for r in records] == [False, True, False]


def test_supersession_keeps_the_old_flag_and_starts_the_new_entry_undisputed(registered, people):
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    registered.addRecord(people.patient, digest("v1"), LABS, {"from": people.doctor})
    registered.disputeRecord(digest("v1"), True, {"from": people.patient})

    registered.supersedeRecord(people.patient, digest("v1"), digest("v2"), {"from": people.doctor})

    old, new = registered.recordOf(people.patient, digest("v1")), registered.recordOf(people.patient, digest("v2"))
    assert (old["supersededBy"], old["disputed"]) == (2, True)
    assert (new["supersededBy"], new["disputed"]) == (0, False)
    # The superseded entry stays the patient's to flag.
    registered.disputeRecord(digest("v1"), False, {"from": people.patient})
    assert disputed(registered, people.patient, "v1") is False
