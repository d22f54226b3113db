"""The deployer names the admin; the role passes on only in two steps and cannot be renounced."""

import brownie
from conftest import public_key, typed_error


def test_deployer_names_the_admin(carechain, people):
    assert carechain.owner() == people.admin


def test_admin_role_moves_in_two_steps(registered, people):
    registered.transferOwnership(people.stranger, {"from": people.admin})
    assert registered.owner() == people.admin
    assert registered.pendingOwner() == people.stranger

    tx = registered.acceptOwnership({"from": people.stranger})
    assert tx.events["OwnershipTransferred"] == {"previousOwner": people.admin, "newOwner": people.stranger}
    registered.registerHospital(people.admin, public_key(people.admin), {"from": people.stranger})
    with brownie.reverts(typed_error("OwnableUnauthorizedAccount", people.admin)):
        registered.suspendProvider(people.hospital, {"from": people.admin})


def test_only_the_named_account_accepts(registered, people):
    registered.transferOwnership(people.stranger, {"from": people.admin})
    with brownie.reverts(typed_error("OwnableUnauthorizedAccount", people.doctor)):
        registered.acceptOwnership({"from": people.doctor})
    with brownie.reverts(typed_error("OwnableUnauthorizedAccount", people.doctor)):
        registered.transferOwnership(people.doctor, {"from": people.doctor})


def test_admin_role_cannot_be_renounced(registered, people):
    with brownie.reverts(typed_error("RegistryRenounceDisabled")):
        registered.renounceOwnership({"from": people.admin})
    with brownie.reverts(typed_error("OwnableUnauthorizedAccount", people.patient)):
        registered.renounceOwnership({"from": people.patient})
    assert registered.owner() == people.admin
