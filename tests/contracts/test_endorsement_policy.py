"""Endorsement policies: the admin sets per category how many endorsements make a record
validated, and whether they must come from distinct hospitals; no category needs any at first."""

import brownie
from conftest import LABS, VITALS, typed_error


def policy(carechain, category):
    required, distinct_hospitals = carechain.endorsementPolicyOf(category)
    return int(required), distinct_hospitals


def test_no_category_needs_endorsements_at_first(carechain):
    for category in (VITALS, LABS, 31, 32, 255):
        assert policy(carechain, category) == (0, False)


def test_the_admin_sets_a_policy_per_category(carechain, people):
    tx = carechain.setEndorsementPolicy(LABS, 2, True, {"from": people.admin})
    assert tx.events["EndorsementPolicySet"] == {"category": LABS, "required": 2, "distinctHospitals": True}
    assert policy(carechain, LABS) == (2, True)
    assert policy(carechain, VITALS) == (0, False)
    carechain.setEndorsementPolicy(31, 255, False, {"from": people.admin})
    assert policy(carechain, 31) == (255, False)


def test_a_policy_is_changed_or_dropped_by_setting_it_again(carechain, people):
    carechain.setEndorsementPolicy(LABS, 2, True, {"from": people.admin})
    carechain.setEndorsementPolicy(LABS, 1, False, {"from": people.admin})
    assert policy(carechain, LABS) == (1, False)
    carechain.setEndorsementPolicy(LABS, 0, False, {"from": people.admin})
    assert policy(carechain, LABS) == (0, False)


def test_only_the_admin_sets_a_policy(carechain, people):
    for account in (people.hospital, people.doctor, people.patient, people.stranger):
        with brownie.reverts(typed_error("OwnableUnauthorizedAccount", account)):
            carechain.setEndorsementPolicy(LABS, 2, True, {"from": account})


def test_a_policy_names_an_existing_category(carechain, people):
    for category in (32, 255):
        with brownie.reverts(typed_error("RecordIndexInvalidCategory", category)):
            carechain.setEndorsementPolicy(category, 1, False, {"from": people.admin})
