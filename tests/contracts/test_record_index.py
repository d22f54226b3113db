"""Records are indexed append-only by their patient or by a doctor holding a live write grant for
the category; the index is paged in O(page) and never holds a digest twice."""

import brownie
from conftest import LABS, NONE, VITALS, digest, grant, mask, typed_error

ZERO = "0x0000000000000000000000000000000000000000"


def entry(registered, patient, label):
    r = registered.recordOf(patient, digest(label))
    return (r["author"], r["category"], r["addedAt"], r["supersededBy"], r["disputed"])


def test_patient_indexes_own_record(registered, people):
    tx = registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    assert tx.events["RecordAdded"] == {
        "patient": people.patient,
        "digest": "0x" + digest("bp").hex(),
        "author": people.patient,
        "number": 1,
        "category": VITALS,
    }
    assert entry(registered, people.patient, "bp") == (people.patient, VITALS, tx.timestamp, 0, False)
    assert registered.recordCount(people.patient) == 1


def test_doctor_with_write_grant_indexes_a_record(registered, people):
    grant(registered, people.patient, people.doctor, mask(LABS), can_write=True)
    tx = registered.addRecord(people.patient, digest("hba1c"), LABS, {"from": people.doctor})
    assert tx.events["RecordAdded"]["author"] == people.doctor
    assert entry(registered, people.patient, "hba1c")[:2] == (people.doctor, LABS)


def test_records_are_numbered_per_patient(registered, people):
    for label in ("a", "b", "c"):
        registered.addRecord(people.patient, digest(label), VITALS, {"from": people.patient})
    tx = registered.addRecord(people.other_patient, digest("a"), VITALS, {"from": people.other_patient})
    assert tx.events["RecordAdded"]["number"] == 1
    assert registered.recordCount(people.patient) == 3
    assert registered.recordCount(people.other_patient) == 1


def test_write_without_write_right_is_refused(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.doctor, VITALS)):
        registered.addRecord(people.patient, digest("x"), VITALS, {"from": people.doctor})
    assert registered.recordCount(people.patient) == 0


def test_write_outside_granted_categories_is_refused(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS), can_write=True)
    with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, people.doctor, LABS)):
        registered.addRecord(people.patient, digest("x"), LABS, {"from": people.doctor})


def test_strangers_and_other_patients_cannot_write(registered, people):
    for author in (people.stranger, people.other_patient, people.doctor, people.admin):
        with brownie.reverts(typed_error("RecordIndexUnauthorizedAuthor", people.patient, author, VITALS)):
            registered.addRecord(people.patient, digest("x"), VITALS, {"from": author})


def test_records_only_for_registered_patients(registered, people):
    for account in (people.stranger, people.doctor):
        with brownie.reverts(typed_error("RegistryNotAPatient", account)):
            registered.addRecord(account, digest("x"), VITALS, {"from": account})


def test_duplicate_digest_is_refused(registered, people):
    registered.addRecord(people.patient, digest("bp"), VITALS, {"from": people.patient})
    with brownie.reverts(typed_error("RecordIndexDuplicateRecord", people.patient, digest("bp"))):
        registered.addRecord(people.patient, digest("bp"), LABS, {"from": people.patient})
    assert registered.recordCount(people.patient) == 1


def test_zero_digest_and_unknown_category_are_refused(registered, people):
    with brownie.reverts(typed_error("RecordIndexEmptyDigest")):
        registered.addRecord(people.patient, NONE, VITALS, {"from": people.patient})
    for category in (32, 255):
        with brownie.reverts(typed_error("RecordIndexInvalidCategory", category)):
            registered.addRecord(people.patient, digest("x"), category, {"from": people.patient})


def test_unknown_record_reads_as_empty(registered, people):
    assert entry(registered, people.patient, "never added") == (ZERO, 0, 0, 0, False)


def test_records_of_returns_entries_in_the_order_asked(registered, people):
    labels = [f"r{i}" for i in range(5)]
    for label in labels:
        registered.addRecord(people.patient, digest(label), VITALS, {"from": people.patient})

    asked = [digest(label) for label in ("r3", "r0", "never added", "r3")]
    records = registered.recordsOf(people.patient, asked)
    assert [tuple(r) for r in records] == [tuple(registered.recordOf(people.patient, d)) for d in asked]
    assert [r["author"] for r in records] == [people.patient, people.patient, ZERO, people.patient]
    assert registered.recordsOf(people.patient, []) == []
    assert [r["author"] for r in registered.recordsOf(people.other_patient, asked[:2])] == [ZERO, ZERO]

