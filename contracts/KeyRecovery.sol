// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Endorsements} from "./Endorsements.sol";

/**
 * @title KeyRecovery
 * @notice A patient names guardians for its key, which is split off chain (SLIP-0039) into
 * `shareCount` shares of which any `threshold` restore it. Someone who lost the key asks for
 * recovery from an account of their own; each guardian approves by publishing its share
 * re-encrypted for that account; the restored key records the recovery. Every step is an event of
 * the patient's audit trail, so a patient who still holds its key sees (and may cancel) a
 * recovery it did not ask for.
 * @dev Nothing on chain names the guardians until they act: the patient stores, per guardian, a
 * tag keccak256(guardian, salt) whose salt only that guardian receives (inside its encrypted
 * share), and a guardian proves itself by revealing its salt when it approves. The shares
 * themselves are on IPFS, encrypted (`sharesDigest`); shares handed over as printed words never
 * touch the chain. Naming guardians again starts a new version: the tags of the old set no longer
 * approve anything.
 */
abstract contract KeyRecovery is Endorsements {
    /// @notice How long a recovery request stays open for approvals.
    uint256 public constant RECOVERY_LIFETIME = 7 days;

    /// @notice The most shares a key may be split into (SLIP-0039's limit).
    uint8 internal constant MAX_SHARES = 16;

    /// @dev One slot: 4 + 1 + 1 bytes.
    struct GuardianSet {
        uint32 version; // counts the patient's sets; 0: never named any
        uint8 threshold; // shares that restore the key; 0: no guardians (withdrawn)
        uint8 shareCount;
    }

    mapping(address patient => GuardianSet) private _guardianSets;

    /// @dev The set version each guardian tag belongs to.
    mapping(address patient => mapping(bytes32 tag => uint32 version)) private _guardianTags;

    /// @dev When each open recovery request was made; zero: none open.
    mapping(address patient => mapping(address requester => uint40 requestedAt)) private _recoveries;

    /// @notice `patient` named guardians: `shareCount` shares, any `threshold` of which restore its
    /// key (both zero: guardians withdrawn); the registered guardians' encrypted shares are on IPFS
    /// under `sharesDigest`.
    event GuardiansSet(address indexed patient, uint32 version, bytes32 sharesDigest, uint8 threshold, uint8 shareCount);

    /// @notice `requester` asked for `patient`'s key, to be re-encrypted for `publicKey` (its own).
    event RecoveryRequested(address indexed patient, address indexed requester, bytes publicKey);

    /// @notice `guardian` released its share of `patient`'s key to `requester`, encrypted for it on
    /// IPFS under `releasedShare`.
    event RecoveryApproved(
        address indexed patient, address indexed guardian, address indexed requester, bytes32 releasedShare
    );

    /// @notice `patient` cancelled the open recovery request of `requester`.
    event RecoveryCancelled(address indexed patient, address indexed requester);

    /// @notice `patient`'s key was restored (the request of `requester`, or zero) and signs again.
    event KeyRecovered(address indexed patient, address indexed requester);

    /// @dev A set must have 2 to MAX_SHARES shares, and a threshold of 2 up to their number.
    error KeyRecoveryInvalidThreshold(uint8 threshold, uint8 shareCount);

    /// @dev More registered guardians than shares.
    error KeyRecoveryTooManyGuardians(uint256 guardians, uint8 shareCount);

    /// @dev `patient` has no guardians.
    error KeyRecoveryNoGuardians(address patient);

    /// @dev `requester` already has an open request for `patient`'s key.
    error KeyRecoveryAlreadyRequested(address patient, address requester);

    /// @dev `requester` has no open request for `patient`'s key (never asked, cancelled, recovered or lapsed).
    error KeyRecoveryNoOpenRequest(address patient, address requester);

    /// @dev `account` is not a guardian of `patient`'s current set (or gave another salt).
    error KeyRecoveryNotAGuardian(address patient, address account);

    /**
     * @notice Names the caller's guardians, replacing any earlier set. Registered patients only.
     * Both `threshold` and `shareCount` zero (and no tags) withdraws the guardians.
     * @param sharesDigest Digest of the IPFS object holding the guardians' encrypted shares.
     * @param threshold How many shares restore the key: 2 to `shareCount`.
     * @param shareCount How many shares there are (registered guardians plus printed ones): at most MAX_SHARES.
     * @param guardianTags keccak256(abi.encodePacked(guardian, salt)) of each registered guardian.
     */
    function setGuardians(bytes32 sharesDigest, uint8 threshold, uint8 shareCount, bytes32[] calldata guardianTags)
        external
    {
        _requirePatient(msg.sender);
        bool withdrawn = threshold == 0 && shareCount == 0;
        if (!withdrawn && (threshold < 2 || threshold > shareCount || shareCount > MAX_SHARES)) {
            revert KeyRecoveryInvalidThreshold(threshold, shareCount);
        }
        if (guardianTags.length > shareCount) revert KeyRecoveryTooManyGuardians(guardianTags.length, shareCount);
        GuardianSet storage set = _guardianSets[msg.sender];
        uint32 version = set.version + 1;
        (set.version, set.threshold, set.shareCount) = (version, threshold, shareCount);
        for (uint256 i = 0; i < guardianTags.length; ++i) {
            _guardianTags[msg.sender][guardianTags[i]] = version;
        }
        emit GuardiansSet(msg.sender, version, sharesDigest, threshold, shareCount);
    }

    /**
     * @notice Asks `patient`'s guardians for its key, re-encrypted for the caller. Any account may
     * ask, registered or not; one open request per requester and patient.
     * @param patient A patient with guardians.
     * @param publicKey The caller's 64-byte uncompressed secp256k1 public key.
     */
    function requestRecovery(address patient, bytes calldata publicKey) external {
        if (_guardianSets[patient].threshold == 0) revert KeyRecoveryNoGuardians(patient);
        if (publicKey.length != 64 || address(uint160(uint256(keccak256(publicKey)))) != msg.sender) {
            revert RegistryInvalidPublicKey(msg.sender);
        }
        if (_isRecoveryOpen(patient, msg.sender)) revert KeyRecoveryAlreadyRequested(patient, msg.sender);
        _recoveries[patient][msg.sender] = uint40(block.timestamp);
        emit RecoveryRequested(patient, msg.sender, publicKey);
    }

    /**
     * @notice Approves the open request of `requester`: the caller, a guardian of `patient`'s
     * current set, has published its share encrypted for the requester.
     * @param patient The patient whose key is asked for.
     * @param requester An account with an open request for it.
     * @param salt The salt of the caller's guardian tag (from its encrypted share).
     * @param releasedShare Digest of the IPFS object holding the share encrypted for `requester`.
     */
    function approveRecovery(address patient, address requester, bytes32 salt, bytes32 releasedShare) external {
        if (!_isRecoveryOpen(patient, requester)) revert KeyRecoveryNoOpenRequest(patient, requester);
        if (_guardianTags[patient][keccak256(abi.encodePacked(msg.sender, salt))] != _guardianSets[patient].version) {
            revert KeyRecoveryNotAGuardian(patient, msg.sender);
        }
        emit RecoveryApproved(patient, msg.sender, requester, releasedShare);
    }

    /**
     * @notice Cancels the open request of `requester` for the caller's key: guardians can no
     * longer approve it (shares released before stay released).
     * @param requester An account with an open request for the caller's key.
     */
    function cancelRecovery(address requester) external {
        if (!_isRecoveryOpen(msg.sender, requester)) revert KeyRecoveryNoOpenRequest(msg.sender, requester);
        delete _recoveries[msg.sender][requester];
        emit RecoveryCancelled(msg.sender, requester);
    }

    /**
     * @notice Records that the caller's key was restored, signed by that key; closes the request
     * of `requester` if open. Registered patients only.
     * @param requester The account whose request restored the key, or zero.
     */
    function recordRecovery(address requester) external {
        _requirePatient(msg.sender);
        delete _recoveries[msg.sender][requester];
        emit KeyRecovered(msg.sender, requester);
    }

    /**
     * @notice Returns when the open request of `requester` for `patient`'s key was made; zero if
     * none is open (never asked, cancelled, recovered or lapsed).
     * @param patient Any address.
     * @param requester Any address.
     */
    function recoveryOf(address patient, address requester) external view returns (uint40) {
        return _isRecoveryOpen(patient, requester) ? _recoveries[patient][requester] : 0;
    }

    function _isRecoveryOpen(address patient, address requester) private view returns (bool) {
        uint256 requestedAt = _recoveries[patient][requester];
        return requestedAt != 0 && block.timestamp < requestedAt + RECOVERY_LIFETIME;
    }
}
