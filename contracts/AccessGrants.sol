// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Devices} from "./Devices.sol";

/**
 * @title AccessGrants
 * @notice Time-bound consent. A patient grants a doctor or a whole hospital access to chosen
 * record categories, to read or to read and add records, until an expiry second; the patient
 * may renew, narrow or revoke the grant at any time. A hospital grant covers every doctor of that
 * hospital while both are unsuspended.
 * @dev Access checks read at most four storage slots, whatever the number of grants or records.
 */
abstract contract AccessGrants is Devices {
    /// @notice Categories are numbered 0 to 31; a scope is a bit mask of them.
    uint8 public constant CATEGORY_COUNT = 32;

    /// @notice The furthest ahead a grant may expire, counted from the granting block.
    uint256 public constant MAX_GRANT_DURATION = 3650 days;

    /// @dev One slot per (patient, grantee): 5 + 4 + 1 = 10 bytes. expiresAt == 0 means no grant.
    struct Grant {
        uint40 expiresAt; // access ends at this second: checks fail at and after it
        uint32 categories; // bit i set: category i is in scope
        bool canWrite;
    }

    mapping(address patient => mapping(address grantee => Grant)) internal _grants;

    /// @notice `patient` granted `grantee` access to `categories` until `expiresAt`; the record keys
    /// in scope, wrapped for the grantee, are in the IPFS object with sha2-256 digest `keyBundle`.
    event AccessGranted(
        address indexed patient,
        address indexed grantee,
        uint32 categories,
        bool canWrite,
        uint40 expiresAt,
        bytes32 keyBundle
    );

    /// @notice `patient` extended the grant of `grantee` to `expiresAt`, delivering the keys in
    /// `keyBundle` (zero: none).
    event AccessRenewed(address indexed patient, address indexed grantee, uint40 expiresAt, bytes32 keyBundle);

    /// @notice `patient` reduced the grant of `grantee` to the given scope, right and expiry.
    event AccessNarrowed(
        address indexed patient, address indexed grantee, uint32 categories, bool canWrite, uint40 expiresAt
    );

    /// @notice `patient` revoked the grant of `grantee`.
    event AccessRevoked(address indexed patient, address indexed grantee);

    /// @dev A grant must cover at least one category.
    error AccessGrantsEmptyScope();

    /// @dev `expiresAt` is not after the current block's timestamp.
    error AccessGrantsExpiryNotInFuture(uint256 expiresAt);

    /// @dev `expiresAt` is later than `latest` (now + MAX_GRANT_DURATION).
    error AccessGrantsExpiryTooFar(uint256 expiresAt, uint256 latest);

    /// @dev `patient` already has an unexpired grant for `grantee`: renew or narrow it instead.
    error AccessGrantsGrantExists(address patient, address grantee);

    /// @dev `patient` has no grant for `grantee`.
    error AccessGrantsNoGrant(address patient, address grantee);

    /// @dev The grant of `patient` for `grantee` expired; grant afresh or renew it.
    error AccessGrantsGrantExpired(address patient, address grantee);

    /// @dev A renewal must move the expiry later than `current`.
    error AccessGrantsNotLater(uint256 expiresAt, uint256 current);

    /// @dev Narrowing may only drop categories, drop the write right or move the expiry earlier.
    error AccessGrantsNotNarrower();

    /**
     * @notice Grants `grantee` access to the caller's records in `categories` until `expiresAt`.
     * Replaces an expired grant; an unexpired one must be renewed, narrowed or revoked instead.
     * @param grantee A registered, unsuspended hospital or doctor.
     * @param categories Bit mask of the categories in scope (bit i: category i); not zero.
     * @param writable Whether the grantee may also add records in those categories.
     * @param expiresAt Unix second at which access ends; in the future, within MAX_GRANT_DURATION.
     * @param keyBundle Digest of the IPFS object holding the wrapped keys of the records in scope,
     * zero if there are none. Stored only in the event: the chain cannot check it.
     */
    function grantAccess(address grantee, uint32 categories, bool writable, uint40 expiresAt, bytes32 keyBundle)
        external
    {
        _grant(grantee, categories, writable, expiresAt, keyBundle);
    }

    /// @dev {grantAccess} by the caller, a patient; also how an approved access request grants.
    function _grant(address grantee, uint32 categories, bool writable, uint40 expiresAt, bytes32 keyBundle) internal {
        _requirePatient(msg.sender);
        _requireActiveGrantee(grantee);
        if (categories == 0) revert AccessGrantsEmptyScope();
        _requireValidExpiry(expiresAt);
        Grant storage grant = _grants[msg.sender][grantee];
        if (grant.expiresAt > block.timestamp) revert AccessGrantsGrantExists(msg.sender, grantee);
        _grants[msg.sender][grantee] = Grant({expiresAt: expiresAt, categories: categories, canWrite: writable});
        emit AccessGranted(msg.sender, grantee, categories, writable, expiresAt, keyBundle);
    }

    /**
     * @notice Moves the expiry of the caller's grant for `grantee` later, keeping its scope. An
     * expired grant may be renewed too.
     * @param grantee A grantee of the caller; it must be unsuspended.
     * @param expiresAt The new expiry: later than the current one and than now, within
     * MAX_GRANT_DURATION.
     * @param keyBundle Digest of the IPFS object with the keys of records the grantee lacks
     * (those added while the grant had lapsed), zero if none.
     */
    function renewAccess(address grantee, uint40 expiresAt, bytes32 keyBundle) external {
        Grant storage grant = _existingGrant(msg.sender, grantee);
        _requireActiveGrantee(grantee);
        _requireValidExpiry(expiresAt);
        if (expiresAt <= grant.expiresAt) revert AccessGrantsNotLater(expiresAt, grant.expiresAt);
        grant.expiresAt = expiresAt;
        emit AccessRenewed(msg.sender, grantee, expiresAt, keyBundle);
    }

    /**
     * @notice Reduces the caller's unexpired grant for `grantee`: fewer categories, no write
     * right, or an earlier expiry. Each value must be within the current grant.
     * @param grantee A grantee of the caller with an unexpired grant.
     * @param categories A non-empty subset of the granted categories.
     * @param writable False, or true only if the grant already allows writing.
     * @param expiresAt In the future and not later than the current expiry.
     */
    function narrowAccess(address grantee, uint32 categories, bool writable, uint40 expiresAt) external {
        Grant storage grant = _existingGrant(msg.sender, grantee);
        Grant memory current = grant;
        if (current.expiresAt <= block.timestamp) revert AccessGrantsGrantExpired(msg.sender, grantee);
        if (categories == 0) revert AccessGrantsEmptyScope();
        if (expiresAt <= block.timestamp) revert AccessGrantsExpiryNotInFuture(expiresAt);
        if (
            categories & ~current.categories != 0 || (writable && !current.canWrite)
                || expiresAt > current.expiresAt
        ) revert AccessGrantsNotNarrower();
        _grants[msg.sender][grantee] = Grant({expiresAt: expiresAt, categories: categories, canWrite: writable});
        emit AccessNarrowed(msg.sender, grantee, categories, writable, expiresAt);
    }

    /**
     * @notice Ends the caller's grant for `grantee` at once (an expired grant is cleared too).
     * @param grantee A grantee of the caller.
     */
    function revokeAccess(address grantee) external {
        _existingGrant(msg.sender, grantee);
        delete _grants[msg.sender][grantee];
        emit AccessRevoked(msg.sender, grantee);
    }

    /**
     * @notice Returns the grant of `patient` for `grantee` as stored, expired or not
     * (expiresAt == 0: none).
     * @param patient The granting patient.
     * @param grantee The doctor or hospital.
     */
    function grantOf(address patient, address grantee) external view returns (Grant memory) {
        return _grants[patient][grantee];
    }

    /**
     * @notice Whether `reader` may read records of `patient` in `category` now: the patient
     * itself, or an unsuspended provider holding an unexpired grant covering the category
     * (a doctor also through its hospital's grant). False at and after the expiry second.
     * @param patient The patient whose records are asked for.
     * @param reader The account that wants to read.
     * @param category The record category, 0 to 31.
     */
    function canAccess(address patient, address reader, uint8 category) external view returns (bool) {
        return category < CATEGORY_COUNT && _readableUntil(patient, reader, category) != 0;
    }

    /**
     * @notice {canAccess} for each of `readers`, in the same order: one call for everyone a new
     * record's key is sealed for, however many doctors a hospital's grant covers.
     * @param patient The patient whose records are asked for.
     * @param readers The accounts that want to read.
     * @param category The record category, 0 to 31.
     */
    function canAccessEach(address patient, address[] calldata readers, uint8 category)
        external
        view
        returns (bool[] memory allowed)
    {
        allowed = new bool[](readers.length);
        if (category >= CATEGORY_COUNT) return allowed;
        for (uint256 i = 0; i < readers.length; ++i) {
            allowed[i] = _readableUntil(patient, readers[i], category) != 0;
        }
    }

    /**
     * @notice Whether `author` may add records of `patient` in `category` now: the patient
     * itself, or an unsuspended doctor whose own or hospital grant covers the category with the
     * write right.
     * @param patient The patient the record is about.
     * @param author The account that wants to add the record.
     * @param category The record category, 0 to 31.
     */
    function canWrite(address patient, address author, uint8 category) external view returns (bool) {
        return _mayWrite(patient, author, category);
    }

    /// @dev The second at which `reader`'s access to `category` of the patient's records ends:
    /// the latest expiry among the unexpired grants covering it for an unsuspended provider (a
    /// doctor also through its hospital's grant), type(uint40).max for the patient itself, 0 for
    /// no access now. Reads both of a doctor's grants; writes use the cheaper `_mayWrite`.
    function _readableUntil(address patient, address reader, uint8 category) internal view returns (uint40 until) {
        Participant storage participant = _participants[reader];
        Role role = participant.role;
        if (reader == patient) return role == Role.Patient ? type(uint40).max : 0;
        if (participant.suspended || (role != Role.Hospital && role != Role.Doctor)) return 0;
        until = _coveredUntil(_grants[patient][reader], category);
        if (role == Role.Doctor) {
            address hospital = participant.affiliation;
            if (_participants[hospital].suspended) return 0;
            uint40 throughHospital = _coveredUntil(_grants[patient][hospital], category);
            if (throughHospital > until) until = throughHospital;
        }
    }

    /// @dev Whether `author` may add records of `patient` in `category` now; hospitals read under
    /// their grants but never author records.
    function _mayWrite(address patient, address author, uint8 category) internal view returns (bool) {
        if (category >= CATEGORY_COUNT) return false;
        Participant storage participant = _participants[author];
        Role role = participant.role;
        if (author == patient) return role == Role.Patient;
        if (participant.suspended) return false;
        if (role == Role.Device) return participant.affiliation == patient && category == DEVICE_CATEGORY;
        if (role != Role.Doctor) return false;
        address hospital = participant.affiliation;
        if (_participants[hospital].suspended) return false;
        return _coversWrite(_grants[patient][author], category) || _coversWrite(_grants[patient][hospital], category);
    }

    function _coversWrite(Grant storage grant, uint8 category) private view returns (bool) {
        Grant memory g = grant;
        return g.canWrite && block.timestamp < g.expiresAt && (g.categories >> category) & 1 == 1;
    }

    /// @dev The grant's expiry if it covers reading `category` now, else 0.
    function _coveredUntil(Grant storage grant, uint8 category) private view returns (uint40) {
        Grant memory g = grant;
        return block.timestamp < g.expiresAt && (g.categories >> category) & 1 != 0 ? g.expiresAt : 0;
    }

    /// @dev A doctor of a suspended hospital may still be granted: the grant stays inert, like
    /// the doctor's other grants, until the hospital is reinstated. Checking the hospital here
    /// too would cost every grant another cold storage read.
    function _requireActiveGrantee(address grantee) private view {
        if (_requireProvider(grantee).suspended) revert RegistryProviderSuspended(grantee);
    }

    function _requireValidExpiry(uint40 expiresAt) private view {
        if (expiresAt <= block.timestamp) revert AccessGrantsExpiryNotInFuture(expiresAt);
        uint256 latest = block.timestamp + MAX_GRANT_DURATION;
        if (expiresAt > latest) revert AccessGrantsExpiryTooFar(expiresAt, latest);
    }

    function _existingGrant(address patient, address grantee) private view returns (Grant storage grant) {
        grant = _grants[patient][grantee];
        if (grant.expiresAt == 0) revert AccessGrantsNoGrant(patient, grantee);
    }
}
