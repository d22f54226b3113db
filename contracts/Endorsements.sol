// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessRequests} from "./AccessRequests.sol";

/**
 * @title Endorsements
 * @notice Multi-party validation of records. A registered, unsuspended doctor or hospital that may
 * read a record now endorses it on chain: it vouches for the record as its author wrote it (a lab
 * result confirmed by the ordering physician, a discharge summary by the hospital). One
 * endorsement per provider and record version, never withdrawn: only a later version superseding
 * the record ends it, as the new version starts with none. The consortium admin sets, per
 * category, how many endorsements make a record validated, and whether they must come from
 * distinct hospitals.
 * @dev The chain stores who endorsed what and the policy; it does not count. Readers compute
 * "validated by N of M" off chain from the endorsements the events name, each confirmed with
 * {endorsed}, and from {endorsementPolicyOf}: the endorsers' hospitals are in the registry's
 * events, and counting on chain would need a list per record (another slot per endorsement).
 */
abstract contract Endorsements is AccessRequests {
    /// @dev One slot per category, 1 + 1 = 2 bytes. required == 0: no validation needed.
    struct EndorsementPolicy {
        uint8 required; // endorsements that make a record of the category validated
        bool distinctHospitals; // count one endorsement per hospital (a doctor counts for its own)
    }

    mapping(address patient => mapping(bytes32 digest => mapping(address provider => bool))) private _endorsed;
    mapping(uint8 category => EndorsementPolicy) private _policies;

    /// @notice `provider` endorsed the record `digest` of `patient`.
    event RecordEndorsed(address indexed patient, bytes32 indexed digest, address indexed provider);

    /// @notice The admin set the endorsement policy of `category`: `required` endorsements (0: none
    /// needed), from distinct hospitals if `distinctHospitals`.
    event EndorsementPolicySet(uint8 indexed category, uint8 required, bool distinctHospitals);

    /// @dev `provider` already endorsed the record `digest` of `patient`.
    error EndorsementsAlreadyEndorsed(address patient, bytes32 digest, address provider);

    /// @dev `provider` wrote the record `digest` of `patient`: its signature already vouches for it.
    error EndorsementsOwnRecord(address patient, bytes32 digest, address provider);

    /// @dev `provider` may not read the record `digest` of `patient` now, so it cannot vouch for it.
    error EndorsementsUnauthorizedEndorser(address patient, bytes32 digest, address provider);

    /**
     * @notice Endorses the current record `digest` of `patient`. The caller must be a registered
     * doctor or hospital, unsuspended (a doctor's hospital too), other than the record's author,
     * that may read the record now (as {canAccess} decides) and has not endorsed it yet.
     * @param patient The patient the record belongs to.
     * @param digest The digest of a current (not superseded) record of `patient`.
     */
    function endorseRecord(address patient, bytes32 digest) external {
        Record storage record = _existingRecord(patient, digest);
        _requireProvider(msg.sender);
        if (!_isActiveProvider(msg.sender)) revert RegistryProviderSuspended(msg.sender);
        if (record.supersededBy != 0) revert RecordIndexAlreadySuperseded(patient, digest);
        if (record.author == msg.sender) revert EndorsementsOwnRecord(patient, digest, msg.sender);
        if (_readableUntil(patient, msg.sender, record.category) == 0) {
            revert EndorsementsUnauthorizedEndorser(patient, digest, msg.sender);
        }
        mapping(address provider => bool) storage endorsers = _endorsed[patient][digest];
        if (endorsers[msg.sender]) revert EndorsementsAlreadyEndorsed(patient, digest, msg.sender);
        endorsers[msg.sender] = true;
        emit RecordEndorsed(patient, digest, msg.sender);
    }

    /**
     * @notice Sets how many endorsements make a record of `category` validated. Admin only.
     * @param category A category, below CATEGORY_COUNT.
     * @param required Endorsements needed; 0: records of the category need none.
     * @param distinctHospitals Whether endorsements count only once per hospital (a hospital
     * counts for itself, a doctor for its hospital).
     */
    function setEndorsementPolicy(uint8 category, uint8 required, bool distinctHospitals) external onlyOwner {
        if (category >= CATEGORY_COUNT) revert RecordIndexInvalidCategory(category);
        _policies[category] = EndorsementPolicy({required: required, distinctHospitals: distinctHospitals});
        emit EndorsementPolicySet(category, required, distinctHospitals);
    }

    /**
     * @notice Whether `provider` endorsed the record `digest` of `patient`. A superseded record
     * keeps its endorsements; its replacement starts with none.
     * @param patient Any address.
     * @param digest A record digest.
     * @param provider Any address.
     */
    function endorsed(address patient, bytes32 digest, address provider) external view returns (bool) {
        return _endorsed[patient][digest][provider];
    }

    /**
     * @notice Returns the endorsement policy of `category` (required 0: none needed, the default).
     * @param category Any category number; those at or above CATEGORY_COUNT have none.
     */
    function endorsementPolicyOf(uint8 category) external view returns (EndorsementPolicy memory) {
        return _policies[category];
    }
}
