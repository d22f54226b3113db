"""Sharing a record with parts removed through the web app: the patient's link and form, bad
input refused without storing anything, the copy in the patient's list, and the doctor's banner."""

import html

import pytest

from app.carechain.records import Category, Record
from tests.e2e import clinic_resources
from tests.e2e.clinic_resources import PSYCHIATRIC, version_2_record
from tests.e2e.helpers import days_from_now, pulse, text


def discharge_summary(patient: str) -> Record:
    return Record.from_fhir(clinic_resources.discharge_summary(patient))


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


@pytest.fixture
def summary_by_doctor(carechain, people, patient):
    """Dr. Alice Chen's discharge summary of the patient; Dr. Bob Okafor may read shared copies only."""
    carechain.grant(patient, people.doctor.address, [Category.DOCUMENTS, Category.VITALS, Category.SHARED], True,
                    days_from_now(carechain, 5))
    carechain.grant(patient, people.colleague.address, [Category.SHARED], False, days_from_now(carechain, 5))
    return carechain.add_record(people.doctor, patient.address, discharge_summary(patient.address))


def share_url(entry) -> str:
    return f"/patient/records/{entry.digest.hex()}/share"


def count(carechain, account) -> int:
    return carechain.participant(account.address).record_count


def test_a_doctors_record_offers_the_form_with_its_parts_and_readers(me, people, summary_by_doctor):
    page = text(me.get(f"/patient/records/{summary_by_doctor.digest.hex()}"))
    assert "Share with parts removed" in page and share_url(summary_by_doctor) in page
    form = html.unescape(text(me.get(share_url(summary_by_doctor))))
    assert 'value="section[1]"' in form and "section: Psychiatric history" in form
    assert "Dr. Bob Okafor" in form and "Dr. Alice Chen" in form
    assert form.count('name="recipients" type="checkbox" value="0x') == form.count("checked") == 2


def test_sharing_without_the_psychiatric_history_stores_a_copy_the_list_marks(me, carechain, people,
                                                                              summary_by_doctor):
    before = count(carechain, me.account)
    response = me.post(share_url(summary_by_doctor), {"withheld": ["section[1]"],
                                                      "recipients": [people.colleague.address]},
                       follow_redirects=True)
    page = html.unescape(text(response))
    assert response.status_code == 200 and "Redacted copy stored as record #2 with 1 part withheld" in page
    assert "shared with Dr. Bob Okafor" in page and "redacted copy</span>" in page
    assert "Redacted copy of Discharge summary: Admission for pneumonia" in page
    assert count(carechain, me.account) == before + 1


@pytest.mark.parametrize("withheld, recipients, message", [
    ([], "colleague", "Choose at least one part to withhold"),
    (["author[0]", "date", "section[0]", "section[1]", "status", "subject", "title", "type"], "colleague",
     "you chose to withhold everything"),
    (["section[9]"], "colleague", "The record has no element section[9]"),
    (["section[1]"], "outsider", "may not read your shared copies now"),
    (["section[1]"], None, "Choose at least one doctor or hospital"),
])
def test_bad_choices_are_refused_in_words_and_store_nothing(me, carechain, people, summary_by_doctor, withheld,
                                                          recipients, message):
    before = count(carechain, me.account)
    chosen = [getattr(people, recipients).address] if recipients else []
    response = me.post(share_url(summary_by_doctor), {"withheld": withheld, "recipients": chosen})
    assert response.status_code == 400 and message in html.unescape(text(response))
    assert count(carechain, me.account) == before


def test_the_doctor_sees_how_many_elements_were_withheld_and_the_rest_verified(me, as_user, carechain, people,
                                                                               patient, summary_by_doctor):
    me.post(share_url(summary_by_doctor), {"withheld": ["section[1]", "author[0]"],
                                           "recipients": [people.colleague.address]})
    (copy,) = [e for e in carechain.all_records(patient.address) if e.author == patient.address]
    colleague = as_user(people.colleague)
    listing = html.unescape(text(colleague.get(f"/doctor/patients/{patient.address}")))
    assert "Redacted copy of Discharge summary: Admission for pneumonia" in listing
    title = "Discharge summary: Admission for pneumonia"
    assert listing.count(title) == listing.count(f"Redacted copy of {title}")  # the copy, never the original
    page = html.unescape(text(colleague.get(f"/doctor/patients/{patient.address}/records/{copy.digest.hex()}")))
    assert "2 elements withheld by the patient, the rest verified</strong> (signed by Dr. Alice Chen)" in page
    assert "Hospital course: Recovered well." in page and PSYCHIATRIC not in page and "Share with parts" not in page


def test_a_doctor_the_copy_was_not_shared_with_lists_the_patient_without_error(me, as_user, carechain, people,
                                                                                patient, summary_by_doctor):
    me.post(share_url(summary_by_doctor), {"withheld": ["section[1]"], "recipients": [people.colleague.address]})
    listing = text(as_user(people.doctor).get(f"/doctor/patients/{patient.address}"))
    assert "Admission for pneumonia" in listing and "Redacted copy" not in listing and "cannot be read" not in listing


def test_nobody_reading_shared_copies_is_told_where_to_give_that_access(me, carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.DOCUMENTS], True, days_from_now(carechain, 5))
    record = carechain.add_record(people.doctor, patient.address, discharge_summary(patient.address))
    page = html.unescape(text(me.get(share_url(record))))
    assert "Nobody may read your shared copies now" in page and 'href="/patient/grants"' in page
    assert "Share the copy" not in page


def test_records_that_cannot_be_redacted_say_so_or_offer_nothing(me, carechain, people, patient, summary_by_doctor):
    older = version_2_record(carechain, people.doctor, patient, discharge_summary(patient.address))
    page = text(me.get(f"/patient/records/{older.hex()}"))
    assert "Written before records could be shared with parts removed" in page and "/share" not in page
    vitals = carechain.add_record(people.doctor, patient.address, pulse(patient))
    own = carechain.add_record(patient, patient.address, discharge_summary(patient.address))
    for entry in (vitals, own):
        page = text(me.get(f"/patient/records/{entry.digest.hex()}"))
        assert "Share with parts removed" not in page and "Written before" not in page
    assert "vitals records cannot be shared" in text(me.get(share_url(vitals))).lower()

