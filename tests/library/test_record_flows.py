"""A patient adds records; a doctor with write access adds signed records; both read them back
verified, and a provider's read is logged on chain."""

from conftest import DAY, days_from_now, pulse

from app.carechain.records import Category, document, vital_sign


def test_patient_adds_and_reads_back_a_vital_sign(carechain, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient, 64))

    assert (entry.number, entry.author, entry.category, entry.superseded_by) == (1, patient.address, Category.VITALS, 0)
    assert carechain.store.is_pinned(entry.digest)
    opened = carechain.read_record(patient, patient.address, entry.digest)
    assert opened.record.resource["valueQuantity"]["value"] == 64
    assert (opened.author, opened.author_role) == (patient.address, "patient")
