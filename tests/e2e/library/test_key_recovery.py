"""Key recovery: a patient's key split in SLIP-0039 shares for registered guardians (wrapped for
their keys, named nowhere in the clear) and printed words; any threshold of them restore it for a
fresh requester account, fewer or wrong ones are refused with a clear message, shares of another
set or another patient too; only guardians approve on chain, and the audit trail shows it all."""

import secrets
from itertools import combinations

import pytest
from eth_account import Account

from app.carechain import crypto
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.keystore import Keystore
from app.carechain.recovery import RecoveryRequest, word_shares_in


@pytest.fixture
def family(new_patient):
    """A family member with a patient account of its own."""
    return new_patient()


def ask(carechain, people, patient) -> RecoveryRequest:
    """A recovery request from a fresh account, funded as the web app's faucet would."""
    requester = Account.create()
    carechain.fund(people.admin, requester.address, 0.1)
    return carechain.request_recovery(patient.address, requester)


def test_any_two_of_three_shares_restore_the_key(carechain, people, patient, family):
    (words,) = carechain.name_guardians(patient, [people.doctor.address, family.address], offline=1, threshold=2)
    assert len(words.split()) == 33

    for approvers, typed in (((people.doctor, family), []), ((people.doctor,), [words]), ((family,), [words])):
        request = ask(carechain, people, patient)
        for guardian in approvers:
            carechain.approve_recovery(guardian, patient.address, request.requester.address)
        assert set(carechain.released_shares(request)) == {guardian.address for guardian in approvers}

        restored = carechain.recover(request, typed)

        assert restored.address == patient.address and restored.key == patient.key


def test_any_three_of_five_printed_shares_restore_the_key_and_two_do_not(carechain, people, patient):
    words = carechain.name_guardians(patient, [], offline=5, threshold=3)
    request = ask(carechain, people, patient)
    for chosen in combinations(words, 3):
        assert carechain.recover(request, list(chosen)).key == patient.key
    assert carechain.recover(request, words).key == patient.key  # more than enough is enough

    with pytest.raises(InvalidInput, match=r"^2 of the 3 shares needed so far \(0 released by guardians, 2 typed\): "
                                           r"1 more needed$"):
        carechain.recover(request, words[:2])
    with pytest.raises(InvalidInput, match="2 of the 3 shares needed"):
        carechain.recover(request, [words[0], words[0], words[1]])  # the same share twice counts once


def test_below_the_threshold_the_message_counts_released_and_typed_shares(carechain, people, patient, family):
    (words,) = carechain.name_guardians(patient, [people.doctor.address, family.address], offline=1, threshold=3)
    request = ask(carechain, people, patient)
    carechain.approve_recovery(people.doctor, patient.address, request.requester.address)

    with pytest.raises(InvalidInput, match=r"^2 of the 3 shares needed so far \(1 released by guardians, 1 typed\): "
                                           r"1 more needed$"):
        carechain.recover(request, [words])


def test_wrong_words_are_refused(carechain, people, patient):
    words = carechain.name_guardians(patient, [], offline=3, threshold=2)
    request = ask(carechain, people, patient)
    typo = words[1].split()
    typo[10] = "academic" if typo[10] != "academic" else "acid"

    with pytest.raises(InvalidInput, match="^printed share 2 is not a valid share: check its words for typing errors$"):
        carechain.recover(request, [words[0], " ".join(typo)])
    with pytest.raises(InvalidInput, match="printed share 1 is not a valid share"):
        carechain.recover(request, [" ".join(["zebra"] * 33), words[0]])
    with pytest.raises(InvalidInput, match="^32 words typed, but each share has 33: 1 word missing"):
        word_shares_in(" ".join(words[0].split()[:-1]))


def test_typed_shares_are_read_however_they_were_copied(carechain, people, patient):
    words = carechain.name_guardians(patient, [], offline=2, threshold=2)
    copied = "\n".join(f"{number}. {word.upper()}" for number, word in enumerate(words[0].split(), 1))
    typed = word_shares_in(copied + "\n\n" + words[1].replace(" ", "  \n"))
    assert typed == words
    assert carechain.recover(ask(carechain, people, patient), typed).key == patient.key


def test_shares_of_another_patient_or_an_earlier_set_are_refused(carechain, people, patient, new_patient):
    other = new_patient()
    others_words = carechain.name_guardians(other, [], offline=2, threshold=2)
    earlier_words = carechain.name_guardians(patient, [], offline=2, threshold=2)
    words = carechain.name_guardians(patient, [], offline=2, threshold=2)
    request = ask(carechain, people, patient)

    for foreign in (others_words, earlier_words):
        with pytest.raises(InvalidInput, match="^printed share 2 belongs to another set of shares, not to the guardians"):
            carechain.recover(request, [words[0], foreign[0]])
    with pytest.raises(InvalidInput, match="^printed share 1 belongs to another set"):
        carechain.recover(request, others_words)
    assert carechain.recover(request, words).key == patient.key


def test_only_guardians_of_the_current_set_approve(carechain, people, patient, family):
    carechain.name_guardians(patient, [people.doctor.address, family.address], offline=0, threshold=2)
    request = ask(carechain, people, patient)
    requester = request.requester.address

    with pytest.raises(AccessDenied, match="you are not a guardian"):
        carechain.approve_recovery(people.colleague, patient.address, requester)
    # Straight to the contract, with any salt, or with the doctor's own share's salt from another account.
    salt = carechain._own_share(people.doctor, patient.address)["salt"]
    for account, guess in ((people.colleague, secrets.token_bytes(32)), (people.colleague, bytes.fromhex(salt))):
        with pytest.raises(TransactionFailed, match="is not a guardian of") as refused:
            carechain.chain.transact(account, "approveRecovery", patient.address, requester, guess, bytes(32))
        assert refused.value.error_name == "KeyRecoveryNotAGuardian"

    carechain.name_guardians(patient, [family.address], offline=1, threshold=2)  # the doctor is retired
    with pytest.raises(AccessDenied):
        carechain.approve_recovery(people.doctor, patient.address, requester)
    with pytest.raises(TransactionFailed) as refused:
        carechain.chain.transact(people.doctor, "approveRecovery", patient.address, requester, bytes.fromhex(salt),
                                 bytes(32))
    assert refused.value.error_name == "KeyRecoveryNotAGuardian"


def test_guardians_see_the_requests_they_may_approve(carechain, people, patient, family):
    carechain.name_guardians(patient, [people.doctor.address, family.address], offline=0, threshold=2)
    request = ask(carechain, people, patient)
    requester = request.requester.address

    def pending(guardian):
        return [(found.requester, found.approved) for found in carechain.pending_recoveries(guardian)
                if found.patient == patient.address]

    assert pending(people.doctor) == pending(family) == [(requester, False)]
    assert pending(people.colleague) == []
    carechain.approve_recovery(family, patient.address, requester)
    assert pending(family) == [(requester, True)] and pending(people.doctor) == [(requester, False)]
    (opened,) = carechain.open_recoveries(patient.address)
    assert (opened.requester, opened.approvals) == (requester, (family.address,))

    carechain.cancel_recovery(patient, requester)
    assert pending(people.doctor) == [] and carechain.open_recoveries(patient.address) == []
    with pytest.raises(InvalidInput, match="no longer open"):
        carechain.approve_recovery(people.doctor, patient.address, requester)


def test_nothing_stored_names_the_guardians_or_holds_a_share_in_the_clear(carechain, people, patient, family):
    guardians = [people.doctor.address, family.address]
    (words,) = carechain.name_guardians(patient, guardians, offline=1, threshold=2)

    current = carechain.guardians_of(patient.address)
    stored = carechain.store.get(current.shares_digest)
    for clear in [guardian[2:].lower().encode() for guardian in guardians] + [words.split()[5].encode()]:
        assert clear not in stored.lower()
    (event,) = carechain.chain.events("GuardiansSet", patient=patient.address)
    setting = carechain.chain.w3.eth.get_transaction(event["transactionHash"])
    assert not any(guardian[2:].lower() in setting["input"].hex().lower() for guardian in guardians)
    assert (current.threshold, current.share_count, current.guardians) == (2, 3, None)
    mine = carechain.guardians_of(patient.address, patient)
    assert (mine.guardians, mine.offline) == (tuple(guardians), 1)


@pytest.mark.parametrize("guardians, offline, threshold, problem", [
    (["0x1234"], 1, 2, "'0x1234' is not a valid guardian address"),
    (["stranger"], 1, 2, "is not a registered patient, doctor or hospital"),
    (["doctor", "doctor"], 1, 2, "is named twice"),
    (["self"], 1, 2, "you cannot be your own guardian"),
    ([], 1, 2, "name 2 to 16 shares in all"),
    ([], 17, 2, "name 2 to 16 shares in all"),
    (["doctor"], 1, 3, "the number of shares that restore the key must be from 2 to 2"),
    (["doctor"], 1, 1, "must be from 2 to 2"),
])
def test_bad_guardians_are_refused_and_change_nothing(carechain, people, patient, guardians, offline, threshold,
                                                      problem):
    carechain.name_guardians(patient, [], offline=2, threshold=2)
    before = carechain.guardians_of(patient.address)
    named = {"stranger": Account.create().address, "doctor": people.doctor.address, "self": patient.address}
    with pytest.raises(InvalidInput, match=problem):
        carechain.name_guardians(patient, [named.get(g, g) for g in guardians], offline, threshold)
    assert carechain.guardians_of(patient.address) == before


def test_no_request_without_guardians(carechain, people, patient):
    with pytest.raises(InvalidInput, match="has named no guardians"):
        ask(carechain, people, patient)
    carechain.name_guardians(patient, [], offline=2, threshold=2)
    carechain.withdraw_guardians(patient)
    assert carechain.guardians_of(patient.address) is None
    with pytest.raises(InvalidInput, match="has named no guardians"):
        ask(carechain, people, patient)


def test_the_restored_key_gets_a_new_keystore_and_the_audit_trail_shows_the_recovery(carechain, people, patient,
                                                                                     family, tmp_path):
    keystore = Keystore(tmp_path)
    keystore.import_key(patient.key.hex(), "the forgotten password")
    (words,) = carechain.name_guardians(patient, [people.doctor.address, family.address], offline=1, threshold=2)
    request = ask(carechain, people, patient)
    carechain.approve_recovery(people.doctor, patient.address, request.requester.address)

    restored = carechain.recover(request, [words])
    keystore.restore(restored, "a new password")
    carechain.record_recovery(restored, request.requester.address)

    assert keystore.unlock(patient.address, "a new password").key == patient.key
    assert carechain.chain.call("recoveryOf", patient.address, request.requester.address) == 0
    trail = carechain.audit_trail(patient.address, kinds=["recovery"])
    assert [(event.kind, event.actor) for event in trail] == [
        ("guardians named", patient.address), ("recovery requested", request.requester.address),
        ("recovery approved", people.doctor.address), ("key recovered", patient.address)]
    assert crypto.address_of(bytes.fromhex(trail[1].details["publicKey"])) == request.requester.address
