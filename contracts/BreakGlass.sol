// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {KeyRecovery} from "./KeyRecovery.sol";

/**
 * @title BreakGlass
 * @notice Emergency access without a grant. A patient keeps an emergency summary (allergies,
 * medications, problems...) whose key is split among the consortium's hospitals off chain. An
 * active doctor declares an emergency for a patient, with a reason; once the window is open (at
 * once, or when a second active doctor confirms, if the admin's policy asks for it) the custodian
 * hospitals release their shares of the key to that doctor, each release an event. Every step is
 * an event of the patient's audit trail; the window closes EMERGENCY_WINDOW after it opened.
 * @dev Only digests are on chain: of the sealed summary and of its custody object on IPFS, of
 * the reason (sealed for the patient and the doctor), of each released share (wrapped for the
 * doctor). The contract cannot check what they point at; the library checks everything it opens.
 */
abstract contract BreakGlass is KeyRecovery {
    /// @notice How long an emergency window stays open, and how long a declaration waits for its
    /// confirmation.
    uint256 public constant EMERGENCY_WINDOW = 24 hours;

    /// @dev One slot per patient and doctor: 5 + 5 bytes.
    struct Emergency {
        uint40 declaredAt;
        uint40 openedAt; // zero while waiting for a second doctor's confirmation
    }

    /// @dev The digest of each patient's sealed emergency summary on IPFS (zero: none).
    mapping(address patient => bytes32 summary) private _emergencySummaries;

    mapping(address patient => mapping(address doctor => Emergency)) private _emergencies;

    /// @notice Whether a declaration opens its window only once a second active doctor confirms it.
    bool public breakGlassConfirmationRequired;

    /// @notice `patient` sealed a new emergency summary (`summary`, zero: withdrawn) whose key's
    /// shares for the custodian hospitals are in the IPFS object `custody`.
    event EmergencySummarySet(address indexed patient, bytes32 summary, bytes32 custody);

    /// @notice `doctor` of `hospital` declared an emergency for `patient`; `reason` is the digest
    /// of the reason, sealed for the patient and the doctor, on IPFS. Its window opened at once,
    /// or waits for a second doctor's confirmation if `awaitingConfirmation`.
    event EmergencyDeclared(
        address indexed patient, address indexed doctor, address hospital, bytes32 reason, bool awaitingConfirmation
    );

    /// @notice `confirmer`, a second doctor, confirmed the emergency `doctor` declared for `patient`.
    event EmergencyConfirmed(address indexed patient, address indexed doctor, address confirmer);

    /// @notice Custodian `hospital` released its share of `patient`'s summary key to `doctor`,
    /// wrapped for the doctor in the IPFS object `share`.
    event EmergencyShareReleased(address indexed patient, address indexed doctor, address hospital, bytes32 share);

    /// @notice The admin set whether a declaration needs a second doctor's confirmation.
    event BreakGlassPolicySet(bool confirmationRequired);

    /// @dev `account` is not a registered doctor.
    error BreakGlassNotADoctor(address account);

    /// @dev `patient` has no emergency summary.
    error BreakGlassNoSummary(address patient);

    /// @dev An emergency needs a reason.
    error BreakGlassNoReason();

    /// @dev `doctor`'s emergency for `patient` is open or waiting for confirmation already.
    error BreakGlassAlreadyDeclared(address patient, address doctor);

    /// @dev `doctor` has no declaration for `patient` waiting for confirmation.
    error BreakGlassNothingToConfirm(address patient, address doctor);

    /// @dev A doctor cannot confirm its own declaration.
    error BreakGlassSelfConfirmation(address doctor);

    /// @dev `doctor` has no open emergency window for `patient`.
    error BreakGlassWindowClosed(address patient, address doctor);

    /**
     * @notice Points the caller's emergency summary at a new sealed envelope and its custody
     * object; zeros withdraw it. Registered patients only, for themselves.
     * @param summary The sha2-256 digest inside the envelope's CID, or zero.
     * @param custody The digest of the object holding the key's shares for the hospitals, or zero.
     */
    function setEmergencySummary(bytes32 summary, bytes32 custody) external {
        _requirePatient(msg.sender);
        _emergencySummaries[msg.sender] = summary;
        emit EmergencySummarySet(msg.sender, summary, custody);
    }

    /**
     * @notice Declares an emergency for `patient`: opens the caller's window to the patient's
     * emergency summary for EMERGENCY_WINDOW, at once or, if the policy requires it, when a second
     * doctor confirms. The caller must be a registered doctor, unsuspended, of an unsuspended hospital.
     * @param patient A patient with an emergency summary.
     * @param reason Digest of the reason, sealed for the patient and the caller, on IPFS; not zero.
     */
    function declareEmergency(address patient, bytes32 reason) external {
        address hospital = _requireActiveDoctor(msg.sender);
        if (_emergencySummaries[patient] == 0) revert BreakGlassNoSummary(patient);
        if (reason == 0) revert BreakGlassNoReason();
        Emergency storage emergency = _emergencies[patient][msg.sender];
        if (_isOpen(emergency) || _isPending(emergency)) revert BreakGlassAlreadyDeclared(patient, msg.sender);
        bool awaitingConfirmation = breakGlassConfirmationRequired;
        emergency.declaredAt = uint40(block.timestamp);
        emergency.openedAt = awaitingConfirmation ? 0 : uint40(block.timestamp);
        emit EmergencyDeclared(patient, msg.sender, hospital, reason, awaitingConfirmation);
    }

    /**
     * @notice Confirms the emergency `doctor` declared for `patient`, which opens its window. The
     * caller must be another registered doctor, unsuspended, of an unsuspended hospital.
     * @param patient The patient of the declaration.
     * @param doctor The doctor who declared it; its declaration waits for confirmation.
     */
    function confirmEmergency(address patient, address doctor) external {
        _requireActiveDoctor(msg.sender);
        if (msg.sender == doctor) revert BreakGlassSelfConfirmation(doctor);
        Emergency storage emergency = _emergencies[patient][doctor];
        if (!_isPending(emergency)) revert BreakGlassNothingToConfirm(patient, doctor);
        emergency.openedAt = uint40(block.timestamp);
        emit EmergencyConfirmed(patient, doctor, msg.sender);
    }

    /**
     * @notice Releases the caller's share of `patient`'s summary key to `doctor`, whose window
     * must be open. Registered, unsuspended hospitals only.
     * @param patient The patient of the emergency.
     * @param doctor The doctor whose window is open.
     * @param share Digest of the share wrapped for the doctor, on IPFS.
     */
    function releaseEmergencyShare(address patient, address doctor, bytes32 share) external {
        Participant storage custodian = _participants[msg.sender];
        if (custodian.role != Role.Hospital) revert RegistryNotAHospital(msg.sender);
        if (custodian.suspended) revert RegistryProviderSuspended(msg.sender);
        if (!_isOpen(_emergencies[patient][doctor])) revert BreakGlassWindowClosed(patient, doctor);
        emit EmergencyShareReleased(patient, doctor, msg.sender, share);
    }

    /**
     * @notice Sets whether a declaration needs a second doctor's confirmation; declarations made
     * before keep the policy of their time. Admin only.
     * @param confirmationRequired True: a second doctor must confirm.
     */
    function setBreakGlassPolicy(bool confirmationRequired) external onlyOwner {
        breakGlassConfirmationRequired = confirmationRequired;
        emit BreakGlassPolicySet(confirmationRequired);
    }

    /**
     * @notice Returns the digest of `patient`'s sealed emergency summary (zero: none).
     * @param patient Any address.
     */
    function emergencySummaryOf(address patient) external view returns (bytes32) {
        return _emergencySummaries[patient];
    }

    /**
     * @notice Returns `doctor`'s latest declaration for `patient`: when it was declared, when its
     * window opened (zero: not confirmed yet) and the second it closes (zero: not open now).
     * @param patient Any address.
     * @param doctor Any address.
     */
    function emergencyWindowOf(address patient, address doctor)
        external
        view
        returns (uint40 declaredAt, uint40 openedAt, uint40 closesAt)
    {
        Emergency storage emergency = _emergencies[patient][doctor];
        declaredAt = emergency.declaredAt;
        openedAt = emergency.openedAt;
        if (_isOpen(emergency)) closesAt = uint40(openedAt + EMERGENCY_WINDOW);
    }

    /// @dev A registered doctor, unsuspended, of an unsuspended hospital; returns its hospital.
    function _requireActiveDoctor(address account) private view returns (address hospital) {
        Participant storage doctor = _participants[account];
        if (doctor.role != Role.Doctor) revert BreakGlassNotADoctor(account);
        if (doctor.suspended) revert RegistryProviderSuspended(account);
        hospital = doctor.affiliation;
        if (_participants[hospital].suspended) revert RegistryProviderSuspended(hospital);
    }

    function _isOpen(Emergency storage emergency) private view returns (bool) {
        return emergency.openedAt != 0 && block.timestamp < emergency.openedAt + EMERGENCY_WINDOW;
    }

    function _isPending(Emergency storage emergency) private view returns (bool) {
        return emergency.declaredAt != 0 && emergency.openedAt == 0
            && block.timestamp < emergency.declaredAt + EMERGENCY_WINDOW;
    }
}
