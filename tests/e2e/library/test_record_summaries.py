"""What each record is, told without opening it: the summary sealed in the envelope's header, for
the same readers as the record; the listing a provider makes (logged on chain, once); filters,
sorting and search; and envelopes of version 1, which carry no summary, still listed."""

import dataclasses
from datetime import date

import pytest
from eth_account import Account
from eth_utils import keccak

from app.carechain import crypto, envelope
from app.carechain.errors import AccessDenied
from app.carechain.records import Category, condition, document
from app.carechain.summaries import RecordQuery, Summary
from tests.e2e.clinic_resources import dated_records
from tests.e2e.helpers import days_from_now, pulse

ALL = list(range(len(Category)))


@pytest.fixture
def chart(carechain, patient):
    """A patient's records of several kinds and clinical dates, oldest clinical date not first."""
    records = dated_records(patient) + [
        document(patient.address, "Chest X-ray report", b"%PDF-1.4 x", "application/pdf", 1_740_000_000)]
    return [carechain.add_record(patient, patient.address, record) for record in records]


def titles(listed):
    return [row.summary.title for row in listed]


def test_a_provider_lists_titles_and_clinical_dates_without_opening_a_record(carechain, people, patient, chart):
    carechain.grant(patient, people.doctor.address, ALL, False, days_from_now(carechain, 1))
    listing = carechain.list_records(people.doctor, patient.address)
    by_title = {row.summary.title: row for row in listing.records}
    assert set(by_title) == {"Immunization: Influenza, 2026-10-02", "Procedure: Appendectomy, 2026-09-14",
                             "Type 2 diabetes", "Heart rate: 64 beats/minute", "Chest X-ray report"}
    assert by_title["Procedure: Appendectomy, 2026-09-14"].summary.clinical_date == "2026-09-14"
    assert by_title["Immunization: Influenza, 2026-10-02"].summary.clinical_date == "2026-10-02T09:30:00Z"
    assert all(row.author == patient.address and row.problem is None for row in listing.records)
    reads = [event for event in carechain.audit_trail(patient.address, kinds=["reads"])]
    assert [(event.kind, event.actor) for event in reads] == [("listed", people.doctor.address)]
    assert set(reads[0].details["categories"]) == {category.label for category in Category}


def test_summaries_of_records_written_before_the_grant_open_with_the_delivered_keys(carechain, people, patient,
                                                                                    chart):
    """The records predate the grant: their keys reach the doctor in the grant's key bundle."""
    carechain.grant(patient, people.colleague.address, [int(Category.CONDITIONS)], False, days_from_now(carechain, 1))
    listing = carechain.list_records(people.colleague, patient.address)
    assert titles(listing.records) == ["Procedure: Appendectomy, 2026-09-14", "Type 2 diabetes"]
    assert listing.readable == {Category.CONDITIONS}


def test_the_summary_is_sealed(carechain, patient, chart):
    for entry in chart:
        data = carechain.store.get(entry.digest)
        assert b"Appendectomy" not in data and b"diabetes" not in data and b"X-ray" not in data


def test_filters_sort_and_search(carechain, patient, chart):
    listed = carechain.list_records(patient, patient.address).records
    newest = RecordQuery().select(listed)
    assert [row.summary.clinical_date[:10] for row in newest] == sorted(
        (row.summary.clinical_date[:10] for row in listed), reverse=True)
    assert titles(RecordQuery(oldest_first=True).select(listed))[0] == "Chest X-ray report"  # 2025-02-19
    assert titles(RecordQuery(text="appendectomy").select(listed)) == ["Procedure: Appendectomy, 2026-09-14"]
    assert titles(RecordQuery(text="CHEST report").select(listed)) == ["Chest X-ray report"]
    assert titles(RecordQuery(category=Category.VITALS).select(listed)) == ["Heart rate: 64 beats/minute"]
    autumn = RecordQuery(since=date(2026, 9, 14), until=date(2026, 10, 2)).select(listed)
    assert titles(autumn) == ["Immunization: Influenza, 2026-10-02", "Procedure: Appendectomy, 2026-09-14"]
    assert RecordQuery(text="nothing like it").select(listed) == []


def test_a_provider_without_access_lists_nothing_and_nothing_is_logged(carechain, people, patient, chart):
    with pytest.raises(AccessDenied, match="has not granted you access"):
        carechain.list_records(people.outsider, patient.address)
    carechain.grant(patient, people.outsider.address, [0], False, days_from_now(carechain, 1))
    carechain.revoke(patient, people.outsider.address, rotate=False)
    with pytest.raises(AccessDenied, match="revoked"):
        carechain.list_records(people.outsider, patient.address)
    assert carechain.audit_trail(patient.address, kinds=["reads"]) == []


def test_a_version_1_envelope_without_summary_is_listed_from_its_content(carechain, patient):
    """Records stored before summaries existed are listed too: their title comes from opening them."""
    record = condition(patient.address, "Asthma")
    body = envelope.body_of(record.resource_json, record.attachment)
    signature = crypto.sign_record(carechain.domain, patient.key, patient.address, patient.address,
                                   int(record.category), record.created_at, keccak(body))
    payload, _ = envelope.pack_payload(signature, record.resource_json, record.attachment)
    secrets = crypto.RecordSecrets(patient.key, b"version 1")
    keys = {patient.address: crypto.wrap_key(secrets.key, patient.address, crypto.public_key_of(patient.key),
                                             secrets.ephemeral_secret(patient.address))}
    header = envelope.Header(patient.address, patient.address, int(record.category), record.created_at,
                             secrets.nonce, keys, version=1)
    digest = carechain.store.put(envelope.encode(header, crypto.seal(secrets.key, secrets.nonce, payload,
                                                                     header.associated_data())))
    carechain.chain.transact(patient, "addRecord", patient.address, digest, int(record.category))
    (listed,) = carechain.list_records(patient, patient.address).records
    assert listed.summary == Summary.of(record) and listed.summary.title == "Asthma"
    assert carechain.read_record(patient, patient.address, digest).record.title == "Asthma"


def test_a_damaged_header_is_listed_with_its_problem(carechain, patient, chart):
    """An entry whose envelope cannot be read does not hide the others."""
    header, ciphertext = envelope.decode(carechain.store.get(chart[0].digest))
    damaged = dataclasses.replace(header, summary=bytes(len(header.summary)))
    digest = carechain.store.put(envelope.encode(damaged, ciphertext))
    carechain.chain.transact(patient, "addRecord", patient.address, digest, int(chart[0].category))
    listed = carechain.list_records(patient, patient.address).records
    (bad,) = [row for row in listed if row.entry.digest == digest]
    assert bad.summary is None and "summary does not decrypt" in bad.problem
    assert len([row for row in listed if row.summary]) == len(chart)


def test_a_record_whose_key_a_reader_lacks_is_listed_with_the_reason(carechain, people, patient):
    """A doctor who joined the granted hospital after the patient's record was sealed: the record is
    listed as unreadable with why, not left out (only shared copies meant for others are)."""
    carechain.grant(patient, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 3))
    entry = carechain.add_record(patient, patient.address, pulse(patient, 58))
    newcomer = Account.create()
    carechain.fund(people.admin, newcomer.address, 1)
    carechain.register_doctor(people.admin, newcomer.address, people.hospital.address,
                              crypto.public_key_of(newcomer.key))
    (row,) = [row for row in carechain.list_records(newcomer, patient.address).records if row.entry == entry]
    assert row.summary is None and "not been delivered" in row.problem
