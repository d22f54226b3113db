"""A patient adds records; a doctor with write access adds signed records; both read them back
verified, and a provider's read is logged on chain."""

import time

import pytest

from app.carechain.errors import TransactionFailed
from app.carechain.records import Category, document
from app.carechain.vitals import vital_sign
from tests.e2e.helpers import days_from_now, pulse


def test_patient_adds_and_reads_back_a_vital_sign(carechain, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient, 64))

    assert (entry.number, entry.author, entry.category, entry.superseded_by) == (1, patient.address, Category.VITALS, 0)
    assert carechain.store.is_pinned(entry.digest)
    opened = carechain.read_record(patient, patient.address, entry.digest)
    assert opened.record.resource["valueQuantity"]["value"] == 64
    assert (opened.author, opened.author_role) == (patient.address, "patient")


def test_doctor_with_write_access_adds_a_signed_record_both_can_read(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.CONDITIONS], True, days_from_now(carechain, 30))
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": f"Patient/{patient.address}"},
        "code": {"text": "Type 2 diabetes mellitus"},
    }
    from app.carechain.records import Record

    entry = carechain.add_record(people.doctor, patient.address, Record.from_fhir(condition))

    assert (entry.author, entry.category) == (people.doctor.address, Category.CONDITIONS)
    for reader in (patient, people.doctor):
        opened = carechain.read_record(reader, patient.address, entry.digest)
        assert opened.record.title == "Type 2 diabetes mellitus"
        assert (opened.author, opened.author_role) == (people.doctor.address, "doctor")


def test_provider_read_is_logged_on_chain_and_the_patients_own_is_not(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))

    carechain.read_record(patient, patient.address, entry.digest)
    carechain.read_record(people.doctor, patient.address, entry.digest)

    reads = [event for event in carechain.audit_trail(patient.address) if event.kind == "read"]
    assert [(event.actor, event.details["digest"]) for event in reads] == [(people.doctor.address, entry.digest.hex())]


def test_document_attachment_round_trips_byte_for_byte(carechain, patient):
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    entry = carechain.add_record(patient, patient.address, document(patient.address, "Discharge letter", pdf,
                                                                    "application/pdf"))
    opened = carechain.read_record(patient, patient.address, entry.digest)
    assert entry.category == Category.DOCUMENTS
    assert (opened.record.attachment, opened.record.title, opened.record.content_type) == (
        pdf, "Discharge letter", "application/pdf")


def test_retrying_an_upload_stores_the_same_digest_and_indexes_it_once(carechain, patient):
    record = vital_sign(patient.address, "blood_pressure", (128, 82))
    first = carechain.add_record(patient, patient.address, record)
    again = carechain.add_record(patient, patient.address, record)

    assert again == first
    assert carechain.participant(patient.address).record_count == 1


def test_upload_interrupted_after_storing_completes_on_retry(carechain, patient):
    """The envelope reached IPFS but the transaction never went out (say the process died)."""
    record = pulse(patient, 80)
    original = carechain.chain.transact
    carechain.chain.transact = lambda *args, **kwargs: (_ for _ in ()).throw(ConnectionError("process died"))
    try:
        try:
            carechain.add_record(patient, patient.address, record)
        except ConnectionError:
            pass
    finally:
        carechain.chain.transact = original
    assert carechain.participant(patient.address).record_count == 0

    entry = carechain.add_record(patient, patient.address, record)
    assert entry.number == 1 and carechain.participant(patient.address).record_count == 1


def test_a_refused_record_leaves_nothing_pinned_or_indexed(carechain, people, patient):
    """The outsider has no write grant: the chain refuses; the stored envelope is unpinned."""
    from app.carechain.errors import AccessDenied

    carechain.grant(patient, people.outsider.address, [Category.VITALS], False, days_from_now(carechain, 1))
    pins_before = set(carechain.store._client.pin.ls(type="recursive")["Keys"])
    try:
        carechain.add_record(people.outsider, patient.address, pulse(patient))
        raise AssertionError("a read-only grantee added a record")
    except AccessDenied as error:
        assert "not add them" in str(error)
    assert carechain.participant(patient.address).record_count == 0
    assert set(carechain.store._client.pin.ls(type="recursive")["Keys"]) == pins_before


def test_a_record_the_chain_refuses_is_unpinned_once_its_pin_finished(carechain, people, patient, monkeypatch):
    """The envelope is pinned while the chain dry-runs the transaction. When the chain refuses
    (here the library's own check is skipped, as a check gone stale would be) before the pin has
    finished, the pin is awaited and then dropped: nothing stays pinned, nothing is indexed."""
    carechain.grant(patient, people.outsider.address, [Category.VITALS], False, days_from_now(carechain, 1))
    monkeypatch.setattr(type(carechain), "_require_access", lambda *args, **kwargs: None)
    put = carechain.store.put
    monkeypatch.setattr(carechain.store, "put", lambda data: time.sleep(0.5) or put(data))  # the refusal comes first
    pins_before = set(carechain.store._client.pin.ls(type="recursive")["Keys"])
    with pytest.raises(TransactionFailed) as refused:
        carechain.add_record(people.outsider, patient.address, pulse(patient))
    assert refused.value.error_name == "RecordIndexUnauthorizedAuthor"
    assert carechain.participant(patient.address).record_count == 0
    assert set(carechain.store._client.pin.ls(type="recursive")["Keys"]) == pins_before
