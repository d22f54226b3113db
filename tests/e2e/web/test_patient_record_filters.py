"""The patient's own list filtered: words of the title, a category, clinical dates, by clinical date
either way; the page's rows still opened and verified; paging and disputes keep the filters."""

import re

import pytest

from tests.e2e.clinic_resources import dated_records
from tests.e2e.helpers import pulse, text

ROW_TITLE = re.compile(r'<td data-label="Record">\s*<a href="/patient/records/[0-9a-f]{64}">([^<]+)</a>')


@pytest.fixture
def me(as_user, carechain, patient):
    for record in dated_records(patient):
        carechain.add_record(patient, patient.address, record)
    return as_user(patient)


def titles(page: str) -> list[str]:
    return ROW_TITLE.findall(page)


def test_unfiltered_the_list_is_newest_added_first_with_clinical_dates(me):
    page = text(me.get("/patient/"))
    assert titles(page) == ["Heart rate: 64 beats/minute", "Type 2 diabetes", "Procedure: Appendectomy, 2026-09-14",
                            "Immunization: Influenza, 2026-10-02"]
    assert "14 Sep 2026" in page and page.count('class="badge ok verified"') == 4
    assert "matching record" not in page


def test_ordered_by_clinical_date_either_way(me):
    newest = titles(text(me.get("/patient/?order=newest")))
    assert newest == ["Immunization: Influenza, 2026-10-02", "Procedure: Appendectomy, 2026-09-14",
                      "Heart rate: 64 beats/minute", "Type 2 diabetes"]
    assert titles(text(me.get("/patient/?order=oldest"))) == list(reversed(newest))


def test_search_category_and_dates(me):
    found = text(me.get("/patient/?text=Appendectomy"))
    assert titles(found) == ["Procedure: Appendectomy, 2026-09-14"] and "1 matching record, by clinical date" in found
    assert 'class="badge ok verified"' in found  # the rows shown are opened and verified
    assert titles(text(me.get("/patient/?category=3"))) == ["Immunization: Influenza, 2026-10-02"]
    autumn = text(me.get("/patient/?since=2025-06-01&until=2025-12-31"))
    assert titles(autumn) == ["Heart rate: 64 beats/minute", "Type 2 diabetes"]
    assert "No record matches these filters." in text(me.get("/patient/?text=nothing+like+it"))


def test_a_malformed_filter_is_named_and_filters_nothing(me):
    page = text(me.get("/patient/?since=someday"))
    assert "Not a valid date value." in page and len(titles(page)) == 4


def test_paging_and_disputes_keep_the_filters(me, carechain):
    for value in range(40, 62):
        carechain.add_record(me.account, me.address, pulse(me.account, value))
    first = text(me.get("/patient/?text=heart+rate"))
    assert "23 matching records" in first and len(titles(first)) == 20
    assert 'href="/patient/?page=2&amp;text=heart+rate"' in first
    second = text(me.get("/patient/?text=heart+rate&page=2"))
    assert len(titles(second)) == 3 and all(title.startswith("Heart rate") for title in titles(second))
    (entry,) = [row.entry for row in carechain.list_records(me.account, me.address).records
                if row.summary.title == "Heart rate: 64 beats/minute"]
    carechain.dispute(me.account, entry.digest)
    hidden = text(me.get("/patient/?text=heart+rate"))
    assert "22 matching records" in hidden and "1 disputed entry among these hidden" in hidden
    assert "Heart rate: 64" in text(me.get("/patient/?text=heart+rate&disputed=shown&page=2"))
