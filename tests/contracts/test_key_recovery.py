"""Key recovery: a patient names guardians by salted tags (nothing on chain names them), anyone asks
for recovery with a public key of its own, guardians of the current set approve an open request
(lapsing after RECOVERY_LIFETIME), the patient may cancel one, and the restored key records the
recovery."""

import brownie
from brownie import chain
from conftest import DAY, digest, public_key, typed_error
from eth_utils import keccak, to_canonical_address

SHARES = digest("shares")
RELEASED = digest("released share")
LIFETIME = 7 * DAY
ZERO = "0x" + "00" * 20


def salt(label: str) -> bytes:
    return digest("salt " + label)


def tag(account, label: str) -> bytes:
    return keccak(to_canonical_address(account.address) + salt(label))


def name_guardians(registered, people, threshold=2, share_count=3):
    """The patient names the doctor and other_patient (a family member's account); one more share printed."""
    tags = [tag(people.doctor, "doctor"), tag(people.other_patient, "family")]
    return registered.setGuardians(SHARES, threshold, share_count, tags, {"from": people.patient})


def ask(registered, people, requester=None):
    requester = requester or people.stranger
    return registered.requestRecovery(people.patient, public_key(requester), {"from": requester})


def approve(registered, people, guardian=None, label="doctor", requester=None):
    return registered.approveRecovery(people.patient, requester or people.stranger, salt(label), RELEASED,
                                      {"from": guardian or people.doctor})


def test_a_patient_names_guardians_by_tags_alone(registered, people):
    tx = name_guardians(registered, people)
    assert tx.events["GuardiansSet"] == {"patient": people.patient, "version": 1, "sharesDigest": "0x" + SHARES.hex(),
                                         "threshold": 2, "shareCount": 3}
    assert people.doctor.address.lower()[2:] not in tx.input.lower()  # only salted tags name the guardians
    assert name_guardians(registered, people, 3, 4).events["GuardiansSet"]["version"] == 2


def test_only_registered_patients_name_guardians(registered, people):
    for account in (people.stranger, people.doctor, people.admin):
        with brownie.reverts(typed_error("RegistryNotAPatient", account)):
            registered.setGuardians(SHARES, 2, 3, [], {"from": account})


def test_a_set_needs_two_to_sixteen_shares_and_a_threshold_of_two_up_to_them(registered, people):
    for threshold, share_count in ((1, 3), (0, 3), (4, 3), (2, 17), (2, 0), (1, 1)):
        with brownie.reverts(typed_error("KeyRecoveryInvalidThreshold", threshold, share_count)):
            registered.setGuardians(SHARES, threshold, share_count, [], {"from": people.patient})
    registered.setGuardians(SHARES, 16, 16, [], {"from": people.patient})  # printed shares only
    with brownie.reverts(typed_error("KeyRecoveryTooManyGuardians", 3, 2)):
        registered.setGuardians(SHARES, 2, 2, [salt("a"), salt("b"), salt("c")], {"from": people.patient})


def test_anyone_asks_with_its_own_public_key(registered, people):
    name_guardians(registered, people)
    tx = ask(registered, people)
    assert tx.events["RecoveryRequested"] == {"patient": people.patient, "requester": people.stranger,
                                              "publicKey": "0x" + public_key(people.stranger).hex()}
    assert registered.recoveryOf(people.patient, people.stranger) == tx.timestamp
    ask(registered, people, people.colleague)  # a second requester has a request of its own
    with brownie.reverts(typed_error("KeyRecoveryAlreadyRequested", people.patient, people.stranger)):
        ask(registered, people)
    with brownie.reverts(typed_error("RegistryInvalidPublicKey", people.outsider)):
        registered.requestRecovery(people.patient, public_key(people.stranger), {"from": people.outsider})


def test_no_request_for_a_patient_without_guardians(registered, people):
    with brownie.reverts(typed_error("KeyRecoveryNoGuardians", people.patient)):
        ask(registered, people)
    with brownie.reverts(typed_error("KeyRecoveryNoGuardians", people.stranger)):
        registered.requestRecovery(people.stranger, public_key(people.stranger), {"from": people.stranger})
    name_guardians(registered, people)
    registered.setGuardians(SHARES, 0, 0, [], {"from": people.patient})  # withdrawn
    with brownie.reverts(typed_error("KeyRecoveryNoGuardians", people.patient)):
        ask(registered, people)


def test_guardians_of_the_current_set_approve(registered, people):
    name_guardians(registered, people)
    ask(registered, people)
    tx = approve(registered, people)
    assert tx.events["RecoveryApproved"] == {"patient": people.patient, "guardian": people.doctor,
                                             "requester": people.stranger, "releasedShare": "0x" + RELEASED.hex()}
    approve(registered, people, people.other_patient, "family")


def test_nobody_else_approves(registered, people):
    name_guardians(registered, people)
    ask(registered, people)
    for account, label in ((people.colleague, "doctor"), (people.doctor, "family"), (people.patient, "doctor"),
                           (people.stranger, "doctor")):
        with brownie.reverts(typed_error("KeyRecoveryNotAGuardian", people.patient, account)):
            approve(registered, people, account, label)


def test_a_new_set_retires_the_old_guardians(registered, people):
    name_guardians(registered, people)
    ask(registered, people)
    registered.setGuardians(SHARES, 2, 2, [tag(people.colleague, "new")], {"from": people.patient})
    with brownie.reverts(typed_error("KeyRecoveryNotAGuardian", people.patient, people.doctor)):
        approve(registered, people)
    approve(registered, people, people.colleague, "new")
    registered.setGuardians(SHARES, 0, 0, [], {"from": people.patient})
    with brownie.reverts(typed_error("KeyRecoveryNotAGuardian", people.patient, people.colleague)):
        approve(registered, people, people.colleague, "new")


def test_only_open_requests_are_approved(registered, people):
    name_guardians(registered, people)
    with brownie.reverts(typed_error("KeyRecoveryNoOpenRequest", people.patient, people.stranger)):
        approve(registered, people)
    asked = ask(registered, people).timestamp
    chain.mine(timestamp=asked + LIFETIME)
    assert registered.recoveryOf(people.patient, people.stranger) == 0
    with brownie.reverts(typed_error("KeyRecoveryNoOpenRequest", people.patient, people.stranger)):
        approve(registered, people)
    ask(registered, people)  # lapsed: may be asked again
    approve(registered, people)


def test_the_patient_cancels_an_open_request(registered, people):
    name_guardians(registered, people)
    ask(registered, people)
    tx = registered.cancelRecovery(people.stranger, {"from": people.patient})
    assert tx.events["RecoveryCancelled"] == {"patient": people.patient, "requester": people.stranger}
    assert registered.recoveryOf(people.patient, people.stranger) == 0
    with brownie.reverts(typed_error("KeyRecoveryNoOpenRequest", people.patient, people.stranger)):
        approve(registered, people)
    with brownie.reverts(typed_error("KeyRecoveryNoOpenRequest", people.patient, people.stranger)):
        registered.cancelRecovery(people.stranger, {"from": people.patient})
    with brownie.reverts(typed_error("KeyRecoveryNoOpenRequest", people.doctor, people.stranger)):
        registered.cancelRecovery(people.stranger, {"from": people.doctor})  # only the patient's own


def test_the_restored_key_records_the_recovery_and_closes_the_request(registered, people):
    name_guardians(registered, people)
    ask(registered, people)
    tx = registered.recordRecovery(people.stranger, {"from": people.patient})
    assert tx.events["KeyRecovered"] == {"patient": people.patient, "requester": people.stranger}
    assert registered.recoveryOf(people.patient, people.stranger) == 0
    assert registered.recordRecovery(ZERO, {"from": people.patient}).events["KeyRecovered"]["requester"] == ZERO
    with brownie.reverts(typed_error("RegistryNotAPatient", people.stranger)):
        registered.recordRecovery(ZERO, {"from": people.stranger})
