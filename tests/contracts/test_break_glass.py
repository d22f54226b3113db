"""Break-glass: an active doctor declares an emergency for a patient with an emergency summary,
which opens a window of EMERGENCY_WINDOW (at once, or once a second active doctor confirms when
the admin's policy requires it); registered hospitals release their shares of the summary's key
to that doctor only while the window is open. Only digests are on chain."""

import brownie
from brownie import chain
from conftest import DAY, NONE, typed_error

SUMMARY = bytes.fromhex("51" * 32)  # stand-ins for digests of objects on IPFS
CUSTODY = bytes.fromhex("c0" * 32)
REASON = bytes.fromhex("ab" * 32)
SHARE = bytes.fromhex("5e" * 32)
WINDOW = DAY


def window(registered, patient, doctor) -> tuple[int, int, int]:
    """(declaredAt, openedAt, closesAt) of the doctor's latest declaration for the patient."""
    return tuple(int(second) for second in registered.emergencyWindowOf(patient, doctor))


def with_summary(registered, people):
    registered.setEmergencySummary(SUMMARY, CUSTODY, {"from": people.patient})


def declare(registered, people, doctor=None):
    return registered.declareEmergency(people.patient, REASON, {"from": doctor or people.doctor})


def test_the_patient_sets_and_withdraws_its_summary(registered, people):
    tx = registered.setEmergencySummary(SUMMARY, CUSTODY, {"from": people.patient})
    assert tx.events["EmergencySummarySet"] == {"patient": people.patient, "summary": "0x" + SUMMARY.hex(),
                                                "custody": "0x" + CUSTODY.hex()}
    assert registered.emergencySummaryOf(people.patient) == "0x" + SUMMARY.hex()
    registered.setEmergencySummary(NONE, NONE, {"from": people.patient})
    assert registered.emergencySummaryOf(people.patient) == "0x" + NONE.hex()
    for account in (people.doctor, people.stranger):
        with brownie.reverts(typed_error("RegistryNotAPatient", account)):
            registered.setEmergencySummary(SUMMARY, CUSTODY, {"from": account})


def test_an_active_doctor_declares_and_the_window_opens_at_once(registered, people):
    with_summary(registered, people)
    tx = declare(registered, people)
    assert tx.events["EmergencyDeclared"] == {"patient": people.patient, "doctor": people.doctor,
                                              "hospital": people.hospital, "reason": "0x" + REASON.hex(),
                                              "awaitingConfirmation": False}
    assert window(registered, people.patient, people.doctor) == (tx.timestamp, tx.timestamp,
                                                                           tx.timestamp + WINDOW)
    assert window(registered, people.patient, people.colleague) == (0, 0, 0)


def test_only_registered_doctors_declare(registered, people):
    with_summary(registered, people)
    for account in (people.hospital, people.patient, people.stranger, people.admin):
        with brownie.reverts(typed_error("BreakGlassNotADoctor", account)):
            declare(registered, people, account)


def test_a_suspended_doctor_is_refused(registered, people):
    with_summary(registered, people)
    registered.suspendProvider(people.doctor, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.doctor)):
        declare(registered, people)


def test_a_doctor_of_a_suspended_hospital_is_refused(registered, people):
    with_summary(registered, people)
    registered.suspendProvider(people.hospital, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.hospital)):
        declare(registered, people)
    declare(registered, people, people.outsider)  # the other hospital's doctor still can


def test_no_summary_no_emergency(registered, people):
    with brownie.reverts(typed_error("BreakGlassNoSummary", people.patient)):
        declare(registered, people)
    with brownie.reverts(typed_error("BreakGlassNoSummary", people.stranger)):
        registered.declareEmergency(people.stranger, REASON, {"from": people.doctor})
    with_summary(registered, people)
    registered.setEmergencySummary(NONE, NONE, {"from": people.patient})  # withdrawn
    with brownie.reverts(typed_error("BreakGlassNoSummary", people.patient)):
        declare(registered, people)


def test_an_emergency_needs_a_reason(registered, people):
    with_summary(registered, people)
    with brownie.reverts(typed_error("BreakGlassNoReason")):
        registered.declareEmergency(people.patient, NONE, {"from": people.doctor})


def test_one_open_declaration_per_doctor_and_patient(registered, people):
    with_summary(registered, people)
    declare(registered, people)
    with brownie.reverts(typed_error("BreakGlassAlreadyDeclared", people.patient, people.doctor)):
        declare(registered, people)
    declare(registered, people, people.colleague)


def test_the_window_closes_at_exactly_24_hours_and_may_be_opened_again(registered, people):
    with_summary(registered, people)
    opened = declare(registered, people).timestamp
    chain.mine(timestamp=opened + WINDOW - 2)
    tx = registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": people.hospital})
    assert tx.timestamp == opened + WINDOW - 1  # the last second of the window
    chain.mine(timestamp=opened + WINDOW)
    assert window(registered, people.patient, people.doctor) == (opened, opened, 0)
    with brownie.reverts(typed_error("BreakGlassWindowClosed", people.patient, people.doctor)):
        registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": people.other_hospital})
    again = declare(registered, people).timestamp
    assert window(registered, people.patient, people.doctor)[2] == again + WINDOW


def test_registered_hospitals_release_shares_while_the_window_is_open(registered, people):
    with_summary(registered, people)
    with brownie.reverts(typed_error("BreakGlassWindowClosed", people.patient, people.doctor)):
        registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": people.hospital})
    declare(registered, people)
    for hospital in (people.hospital, people.other_hospital):
        tx = registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": hospital})
        assert tx.events["EmergencyShareReleased"] == {"patient": people.patient, "doctor": people.doctor,
                                                       "hospital": hospital, "share": "0x" + SHARE.hex()}
    with brownie.reverts(typed_error("BreakGlassWindowClosed", people.patient, people.colleague)):
        registered.releaseEmergencyShare(people.patient, people.colleague, SHARE, {"from": people.hospital})


def test_only_unsuspended_hospitals_release(registered, people):
    with_summary(registered, people)
    declare(registered, people)
    for account in (people.doctor, people.colleague, people.patient, people.stranger, people.admin):
        with brownie.reverts(typed_error("RegistryNotAHospital", account)):
            registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": account})
    registered.suspendProvider(people.other_hospital, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.other_hospital)):
        registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": people.other_hospital})


def test_the_policy_is_the_admins_alone(registered, people):
    assert registered.breakGlassConfirmationRequired() is False
    for account in (people.doctor, people.hospital, people.patient):
        with brownie.reverts(typed_error("OwnableUnauthorizedAccount", account)):
            registered.setBreakGlassPolicy(True, {"from": account})
    tx = registered.setBreakGlassPolicy(True, {"from": people.admin})
    assert tx.events["BreakGlassPolicySet"] == {"confirmationRequired": True}
    assert registered.breakGlassConfirmationRequired() is True


def test_with_the_policy_a_second_doctor_opens_the_window(registered, people):
    with_summary(registered, people)
    registered.setBreakGlassPolicy(True, {"from": people.admin})
    tx = declare(registered, people)
    declared = tx.timestamp
    assert tx.events["EmergencyDeclared"]["awaitingConfirmation"] is True
    assert window(registered, people.patient, people.doctor) == (declared, 0, 0)
    with brownie.reverts(typed_error("BreakGlassWindowClosed", people.patient, people.doctor)):
        registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": people.hospital})
    with brownie.reverts(typed_error("BreakGlassAlreadyDeclared", people.patient, people.doctor)):
        declare(registered, people)
    tx = registered.confirmEmergency(people.patient, people.doctor, {"from": people.outsider})
    assert tx.events["EmergencyConfirmed"] == {"patient": people.patient, "doctor": people.doctor,
                                               "confirmer": people.outsider}
    assert window(registered, people.patient, people.doctor) == (declared, tx.timestamp,
                                                                           tx.timestamp + WINDOW)
    registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": people.hospital})
    with brownie.reverts(typed_error("BreakGlassNothingToConfirm", people.patient, people.doctor)):
        registered.confirmEmergency(people.patient, people.doctor, {"from": people.colleague})


def test_a_doctor_cannot_confirm_its_own_declaration(registered, people):
    with_summary(registered, people)
    registered.setBreakGlassPolicy(True, {"from": people.admin})
    declare(registered, people)
    with brownie.reverts(typed_error("BreakGlassSelfConfirmation", people.doctor)):
        registered.confirmEmergency(people.patient, people.doctor, {"from": people.doctor})


def test_only_active_doctors_confirm(registered, people):
    with_summary(registered, people)
    registered.setBreakGlassPolicy(True, {"from": people.admin})
    declare(registered, people)
    for account in (people.hospital, people.patient, people.stranger):
        with brownie.reverts(typed_error("BreakGlassNotADoctor", account)):
            registered.confirmEmergency(people.patient, people.doctor, {"from": account})
    registered.suspendProvider(people.colleague, {"from": people.admin})
    with brownie.reverts(typed_error("RegistryProviderSuspended", people.colleague)):
        registered.confirmEmergency(people.patient, people.doctor, {"from": people.colleague})


def test_an_unconfirmed_declaration_lapses_after_the_window(registered, people):
    with_summary(registered, people)
    registered.setBreakGlassPolicy(True, {"from": people.admin})
    declared = declare(registered, people).timestamp
    with brownie.reverts(typed_error("BreakGlassNothingToConfirm", people.patient, people.colleague)):
        registered.confirmEmergency(people.patient, people.colleague, {"from": people.doctor})
    chain.mine(timestamp=declared + WINDOW)
    with brownie.reverts(typed_error("BreakGlassNothingToConfirm", people.patient, people.doctor)):
        registered.confirmEmergency(people.patient, people.doctor, {"from": people.colleague})
    declare(registered, people)  # lapsed: the doctor may declare again


def test_a_declaration_keeps_the_policy_of_its_time(registered, people):
    with_summary(registered, people)
    declare(registered, people)  # no confirmation required: open at once
    registered.setBreakGlassPolicy(True, {"from": people.admin})
    registered.releaseEmergencyShare(people.patient, people.doctor, SHARE, {"from": people.hospital})
    declare(registered, people, people.colleague)
    assert window(registered, people.patient, people.colleague)[1] == 0
    registered.setBreakGlassPolicy(False, {"from": people.admin})
    assert window(registered, people.patient, people.colleague)[1] == 0
    registered.confirmEmergency(people.patient, people.colleague, {"from": people.doctor})
