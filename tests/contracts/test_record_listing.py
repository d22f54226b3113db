"""Listing a patient's records (their titles and clinical dates, without opening them) is logged by
an event-only transaction: the lister is the sender, and every category listed must be covered by
its grant (or, for a doctor, its hospital's), as for logging a read. The patient sees who listed
what in the audit trail."""

import brownie
from conftest import CONDITIONS, LABS, VITALS, grant, mask, typed_error


def listed(tx, patient, reader, categories):
    return tx.events["RecordsListed"] == {"patient": patient, "reader": reader, "categories": categories}


def test_provider_lists_the_categories_its_grant_covers(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS, LABS))
    for categories in (mask(VITALS), mask(LABS), mask(VITALS, LABS)):
        tx = registered.logListing(people.patient, categories, {"from": people.doctor})
        assert listed(tx, people.patient, people.doctor, categories)
        assert len(tx.events) == 1


def test_doctor_lists_under_its_hospitals_grant(registered, people):
    grant(registered, people.patient, people.hospital, mask(CONDITIONS))
    tx = registered.logListing(people.patient, mask(CONDITIONS), {"from": people.colleague})
    assert listed(tx, people.patient, people.colleague, mask(CONDITIONS))


def test_a_category_outside_the_grant_is_refused_whole(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    for categories in (mask(LABS), mask(VITALS, LABS), 1 << 31):
        with brownie.reverts(typed_error("RecordIndexUnauthorizedListing", people.patient, people.doctor, categories)):
            registered.logListing(people.patient, categories, {"from": people.doctor})


def test_nothing_listed_is_refused(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    with brownie.reverts(typed_error("RecordIndexUnauthorizedListing", people.patient, people.doctor, 0)):
        registered.logListing(people.patient, 0, {"from": people.doctor})


def test_accounts_without_a_grant_are_refused(registered, people):
    grant(registered, people.other_patient, people.doctor, mask(VITALS))  # another patient's grant
    grant(registered, people.patient, people.other_hospital, mask(LABS))  # its doctor lists labs only
    for account in (people.stranger, people.other_patient, people.admin, people.doctor, people.outsider):
        with brownie.reverts(typed_error("RecordIndexUnauthorizedListing", people.patient, account, mask(VITALS))):
            registered.logListing(people.patient, mask(VITALS), {"from": account})


def test_listing_is_refused_after_revocation(registered, people):
    grant(registered, people.patient, people.doctor, mask(VITALS))
    registered.revokeAccess(people.doctor, {"from": people.patient})
    with brownie.reverts(typed_error("RecordIndexUnauthorizedListing", people.patient, people.doctor, mask(VITALS))):
        registered.logListing(people.patient, mask(VITALS), {"from": people.doctor})
