// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RecordIndex} from "./RecordIndex.sol";

/**
 * @title AccessRequests
 * @notice A registered, unsuspended doctor or hospital asks a patient for access: which
 * categories, whether to add records too, for how long, and why. The patient approves (which
 * grants at once, with the keys, as {grantAccess} does, in the scope the patient chooses) or
 * declines; the provider may withdraw it. Every step is an event of the patient's audit trail.
 * @dev One open request per provider and patient, so no provider can flood a patient; a request
 * left unanswered for REQUEST_LIFETIME lapses and may be asked again. The reason is not on
 * chain: it could say something about the patient's health. Only the digest of an IPFS object
 * holding it, encrypted for the patient, is, and only in the event.
 */
abstract contract AccessRequests is RecordIndex {
    /// @notice How long a request stays open without an answer.
    uint256 public constant REQUEST_LIFETIME = 30 days;

    /// @dev When each open request was made; zero: none open.
    mapping(address patient => mapping(address provider => uint40 requestedAt)) private _requestedAt;

    /// @notice `provider` asked `patient` for access to `categories` (with the right to add
    /// records if `writable`) for `duration` seconds; `reason` is the digest of the reason,
    /// encrypted for the patient, on IPFS (zero: none given).
    event AccessRequested(
        address indexed patient, address indexed provider, uint32 categories, bool writable, uint40 duration,
        bytes32 reason
    );

    /// @notice `patient` answered the open request of `provider`: approved (and granted in the
    /// same transaction) or declined.
    event AccessRequestAnswered(address indexed patient, address indexed provider, bool approved);

    /// @notice `provider` withdrew its open request to `patient`.
    event AccessRequestWithdrawn(address indexed patient, address indexed provider);

    /// @dev `provider` already has an open request to `patient`.
    error AccessRequestsAlreadyOpen(address patient, address provider);

    /// @dev `provider` has no open request to `patient` (never asked, answered, withdrawn or lapsed).
    error AccessRequestsNoOpenRequest(address patient, address provider);

    /// @dev A request asks for no category, or for no time or longer than MAX_GRANT_DURATION.
    error AccessRequestsInvalidScope(uint32 categories, uint40 duration);

    /**
     * @notice Asks `patient` for access. The caller must be a registered, unsuspended doctor or
     * hospital without an open request to `patient`.
     * @param patient A registered patient.
     * @param categories Bit mask of the categories asked for; not zero.
     * @param writable Whether the caller asks to add records too.
     * @param duration Seconds of access asked for; not zero, at most MAX_GRANT_DURATION.
     * @param reason Digest of the reason, encrypted for the patient, on IPFS; zero if none.
     */
    function requestAccess(address patient, uint32 categories, bool writable, uint40 duration, bytes32 reason)
        external
    {
        if (_requireProvider(msg.sender).suspended) revert RegistryProviderSuspended(msg.sender);
        _requirePatient(patient);
        if (categories == 0 || duration == 0 || duration > MAX_GRANT_DURATION) {
            revert AccessRequestsInvalidScope(categories, duration);
        }
        if (_isOpen(patient, msg.sender)) revert AccessRequestsAlreadyOpen(patient, msg.sender);
        _requestedAt[patient][msg.sender] = uint40(block.timestamp);
        emit AccessRequested(patient, msg.sender, categories, writable, duration, reason);
    }

    /**
     * @notice Approves the open request of `provider` by granting it access, as {grantAccess}
     * would, in the scope the caller chooses (the one asked for, or less, or more).
     * @param provider A provider with an open request to the caller.
     * @param categories Bit mask of the categories granted, as for {grantAccess}.
     * @param writable Whether the provider may add records, as for {grantAccess}.
     * @param expiresAt When access ends, as for {grantAccess}.
     * @param keyBundle The keys of the records in scope, as for {grantAccess}.
     */
    function approveRequest(address provider, uint32 categories, bool writable, uint40 expiresAt, bytes32 keyBundle)
        external
    {
        _close(provider);
        _grant(provider, categories, writable, expiresAt, keyBundle);
        emit AccessRequestAnswered(msg.sender, provider, true);
    }

    /**
     * @notice Declines the open request of `provider`, who may ask again.
     * @param provider A provider with an open request to the caller.
     */
    function declineRequest(address provider) external {
        _close(provider);
        emit AccessRequestAnswered(msg.sender, provider, false);
    }

    /**
     * @notice Withdraws the caller's open request to `patient`.
     * @param patient A patient the caller asked for access.
     */
    function withdrawRequest(address patient) external {
        if (!_isOpen(patient, msg.sender)) revert AccessRequestsNoOpenRequest(patient, msg.sender);
        delete _requestedAt[patient][msg.sender];
        emit AccessRequestWithdrawn(patient, msg.sender);
    }

    /**
     * @notice Returns when the open request of `provider` to `patient` was made; zero if none is
     * open (never asked, answered, withdrawn or lapsed).
     * @param patient Any address.
     * @param provider Any address.
     */
    function requestOf(address patient, address provider) external view returns (uint40) {
        return _isOpen(patient, provider) ? _requestedAt[patient][provider] : 0;
    }

    /// @dev Closes the caller's (a patient's) open request from `provider`.
    function _close(address provider) private {
        if (!_isOpen(msg.sender, provider)) revert AccessRequestsNoOpenRequest(msg.sender, provider);
        delete _requestedAt[msg.sender][provider];
    }

    function _isOpen(address patient, address provider) private view returns (bool) {
        uint256 requestedAt = _requestedAt[patient][provider];
        return requestedAt != 0 && block.timestamp < requestedAt + REQUEST_LIFETIME;
    }
}
