"""A patient points its profile at an encrypted envelope on IPFS: only the digest goes on chain, only
a registered patient sets it, only for itself, and each change is logged."""

import brownie
from conftest import NONE, digest, typed_error


def test_a_patient_sets_its_profile(registered, people):
    assert registered.profileOf(people.patient) == "0x" + NONE.hex()

    tx = registered.setProfile(digest("profile v1"), {"from": people.patient})

    assert tx.events["ProfileUpdated"] == {"patient": people.patient, "digest": "0x" + digest("profile v1").hex()}
    assert len(tx.events) == 1
    assert registered.profileOf(people.patient) == "0x" + digest("profile v1").hex()
    assert registered.profileOf(people.other_patient) == "0x" + NONE.hex()


def test_an_update_replaces_it_and_zero_withdraws_it(registered, people):
    registered.setProfile(digest("profile v1"), {"from": people.patient})
    registered.setProfile(digest("profile v2"), {"from": people.patient})
    assert registered.profileOf(people.patient) == "0x" + digest("profile v2").hex()

    tx = registered.setProfile(NONE, {"from": people.patient})

    assert tx.events["ProfileUpdated"]["digest"] == "0x" + NONE.hex()
    assert registered.profileOf(people.patient) == "0x" + NONE.hex()


def test_only_a_registered_patient_sets_a_profile(registered, people):
    for account in (people.stranger, people.doctor, people.hospital, people.admin):
        with brownie.reverts(typed_error("RegistryNotAPatient", account)):
            registered.setProfile(digest("profile"), {"from": account})
        assert registered.profileOf(account) == "0x" + NONE.hex()


def test_setting_a_profile_changes_nothing_else(registered, people):
    before = registered.participantOf(people.patient)
    registered.setProfile(digest("profile"), {"from": people.patient})
    assert registered.participantOf(people.patient) == before
    assert registered.recordCount(people.patient) == 0
