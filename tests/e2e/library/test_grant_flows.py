"""Granting delivers the keys of the records in scope; records added while a grant is live reach
the grantee without a new grant; a hospital grant reaches its doctors; a doctor lists patients."""

import pytest

from app.carechain.errors import AccessDenied, TransactionFailed
from app.carechain.records import Category, Record
from tests.e2e.helpers import days_from_now, pulse, travel_to


def lab_report(patient, text="HbA1c 6.1 %"):
    return Record.from_fhir({
        "resourceType": "DiagnosticReport",
        "status": "final",
        "subject": {"reference": f"Patient/{patient.address}"},
        "code": {"text": text},
    })


def test_grant_delivers_keys_of_existing_records_in_scope_only(carechain, people, patient):
    vitals = carechain.add_record(patient, patient.address, pulse(patient))
    labs = carechain.add_record(patient, patient.address, lab_report(patient))

    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 7))

    assert carechain.read_record(people.doctor, patient.address, vitals.digest).record.title.startswith("Heart rate")
    with pytest.raises(AccessDenied, match="does not cover labs records"):
        carechain.read_record(people.doctor, patient.address, labs.digest)
    assert [e.digest for e in carechain.readable_records(people.doctor.address, patient.address)] == [vitals.digest]


def test_records_added_during_a_live_grant_reach_the_grantee(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.LABS], False, days_from_now(carechain, 7))
    entry = carechain.add_record(patient, patient.address, lab_report(patient, "LDL 2.9 mmol/L"))
    assert carechain.read_record(people.doctor, patient.address, entry.digest).record.title == "LDL 2.9 mmol/L"


def test_hospital_grant_covers_each_active_doctor_of_that_hospital(carechain, people, patient):
    before = carechain.add_record(patient, patient.address, pulse(patient, 70))
    carechain.grant(patient, people.hospital.address, [Category.VITALS], True, days_from_now(carechain, 7))
    after = carechain.add_record(patient, patient.address, pulse(patient, 75))

    for doctor in (people.doctor, people.colleague):
        for entry in (before, after):
            assert carechain.read_record(doctor, patient.address, entry.digest).entry == entry
    with pytest.raises(AccessDenied, match="not granted you access"):
        carechain.read_record(people.outsider, patient.address, before.digest)
    written = carechain.add_record(people.colleague, patient.address, pulse(patient, 90))
    assert written.author == people.colleague.address


def test_doctor_lists_patients_who_granted_them_or_their_hospital(carechain, people, new_patient):
    direct, through_hospital, unrelated = new_patient(), new_patient(), new_patient()
    expiry = days_from_now(carechain, 3)
    carechain.grant(direct, people.doctor.address, [Category.VITALS, Category.LABS], True, expiry)
    carechain.grant(through_hospital, people.hospital.address, [Category.DOCUMENTS], False, expiry)
    carechain.grant(unrelated, people.outsider.address, [Category.VITALS], False, expiry)

    access = {a.patient: a for a in carechain.patients_of(people.doctor.address)}
    assert access[direct.address].via == people.doctor.address
    assert access[direct.address].grant.categories == [Category.VITALS, Category.LABS]
    assert access[direct.address].grant.can_write
    assert access[through_hospital.address].via == people.hospital.address
    assert unrelated.address not in access
    assert access[direct.address].grant.seconds_left(carechain.now()) > 2 * 86400


def test_renewing_a_lapsed_grant_delivers_keys_of_records_added_meanwhile(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    travel_to(carechain, days_from_now(carechain, 2))
    during_lapse = carechain.add_record(patient, patient.address, pulse(patient, 99))
    with pytest.raises(AccessDenied, match="expired"):
        carechain.read_record(people.doctor, patient.address, during_lapse.digest)

    carechain.renew(patient, people.doctor.address, days_from_now(carechain, 5))
    assert carechain.read_record(people.doctor, patient.address, during_lapse.digest).entry == during_lapse


def test_patient_sees_active_and_expired_grants(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    carechain.grant(patient, people.other_hospital.address, [Category.LABS], False, days_from_now(carechain, 10))
    travel_to(carechain, days_from_now(carechain, 2))
    now = carechain.now()
    grants = {g.grantee: g for g in carechain.grants_of(patient.address)}
    assert not grants[people.doctor.address].active(now)
    assert grants[people.other_hospital.address].active(now)
    assert grants[people.other_hospital.address].grantee_role == "hospital"


def test_granting_a_live_grant_again_is_refused_in_words(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 7))
    with pytest.raises(TransactionFailed, match="already has access: renew, narrow or revoke") as refused:
        carechain.grant(patient, people.doctor.address, [Category.LABS], False, days_from_now(carechain, 7))
    assert refused.value.error_name == "AccessGrantsGrantExists"


def test_the_providers_overview_lists_hospitals_and_doctors_in_registration_order(carechain, people):
    providers = carechain.providers()
    assert [p.address for p in providers][:5] == [people.hospital.address, people.other_hospital.address,
                                                  people.doctor.address, people.colleague.address,
                                                  people.outsider.address]
    assert {p.role for p in providers} == {"hospital", "doctor"}
    assert next(p for p in providers if p.address == people.doctor.address).hospital == people.hospital.address


def test_the_grants_list_replayed_from_events_matches_the_chain(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [0, 1], True, days_from_now(carechain, 5))
    carechain.grant(patient, people.hospital.address, [0], False, days_from_now(carechain, 5))
    carechain.grant(patient, people.colleague.address, [2], False, days_from_now(carechain, 5))
    carechain.renew(patient, people.doctor.address, days_from_now(carechain, 9))
    carechain.narrow(patient, people.doctor.address, [1], False, days_from_now(carechain, 8))
    carechain.revoke(patient, people.colleague.address)
    listed = carechain.grants_of(patient.address)
    assert [view.grantee for view in listed] == [people.hospital.address, people.doctor.address]
    assert listed == [carechain.grant_of(patient.address, view.grantee) for view in listed]


def test_a_page_of_grants_is_the_newest_grantees(carechain, people, patient):
    for grantee in (people.doctor, people.hospital, people.colleague):
        carechain.grant(patient, grantee.address, [0], False, days_from_now(carechain, 5))
    assert [view.grantee for view in carechain.grants_of(patient.address, limit=2)] == [
        people.colleague.address, people.hospital.address]
