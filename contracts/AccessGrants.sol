// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Registry} from "./Registry.sol";

/**
 * @title AccessGrants
 * @notice Time-bound consent. A patient grants a doctor or a whole hospital access to chosen
 * record categories, to read or to read and add records, until an expiry second; the patient
 * may renew, narrow or revoke the grant at any time. A hospital grant covers every doctor of that
 * hospital while both are unsuspended.
 * @dev Access checks read at most four storage slots, whatever the number of grants or records.
 */
abstract contract AccessGrants is Registry {
    /// @notice Categories are numbered 0 to 31; a scope is a bit mask of them.
    uint8 public constant CATEGORY_COUNT = 32;

    /// @notice The furthest ahead a grant may expire, counted from the granting block.
    uint256 public constant MAX_GRANT_DURATION = 3650 days;

    /// @notice A grant as {grantOf} returns it. expiresAt == 0 means no grant.
    struct Grant {
        uint40 expiresAt; // access ends at this second: checks fail at and after it
        uint32 categories; // bit i set: category i is in scope
        bool canWrite;
    }

    /// @dev One slot per (patient, grantee), packed by hand so that every check decodes it from a
    /// single read: expiresAt (bits 0-39), categories (40-71), canWrite (72), and for a doctor its
    /// hospital (80-239) and roster bit (240-247: its number + 1 if below ROSTER_SIZE, else 0),
    /// copied from the doctor's slot when granting (read then anyway; a doctor never changes
    /// hospital). A write under a doctor's own grant thus goes straight to the hospital's slot,
    /// whose roster holds both suspensions. Zero means no grant.
    mapping(address patient => mapping(address grantee => uint256 packed)) internal _grants;

    uint256 private constant _CATEGORIES_SHIFT = 40;
    uint256 private constant _CAN_WRITE_SHIFT = 72;
    uint256 private constant _HOSPITAL_SHIFT = 80;
    uint256 private constant _ROSTER_BIT_SHIFT = 240;

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
        _requirePatient(msg.sender);
        Member storage provider = _requireActiveGrantee(grantee);
        if (categories == 0) revert AccessGrantsEmptyScope();
        _requireValidExpiry(expiresAt);
        mapping(address grantee => uint256) storage grants = _grants[msg.sender];
        if (_expiresAt(grants[grantee]) > block.timestamp) revert AccessGrantsGrantExists(msg.sender, grantee);
        grants[grantee] = _pack(expiresAt, categories, writable, _placeOf(provider));
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
        uint256 grant = _existingGrant(msg.sender, grantee);
        _requireActiveGrantee(grantee);
        _requireValidExpiry(expiresAt);
        uint40 current = _expiresAt(grant);
        if (expiresAt <= current) revert AccessGrantsNotLater(expiresAt, current);
        _grants[msg.sender][grantee] = (grant & ~uint256(type(uint40).max)) | expiresAt;
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
        uint256 grant = _existingGrant(msg.sender, grantee);
        if (_expiresAt(grant) <= block.timestamp) revert AccessGrantsGrantExpired(msg.sender, grantee);
        if (categories == 0) revert AccessGrantsEmptyScope();
        if (expiresAt <= block.timestamp) revert AccessGrantsExpiryNotInFuture(expiresAt);
        if (
            categories & ~_categories(grant) != 0 || (writable && !_canWrite(grant))
                || expiresAt > _expiresAt(grant)
        ) revert AccessGrantsNotNarrower();
        _grants[msg.sender][grantee] = _pack(expiresAt, categories, writable, grant >> _HOSPITAL_SHIFT);
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
        uint256 grant = _grants[patient][grantee];
        return Grant({expiresAt: _expiresAt(grant), categories: _categories(grant), canWrite: _canWrite(grant)});
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
        return _hasAccess(patient, reader, category, false);
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
        return _hasAccess(patient, author, category, true);
    }

    /// @dev Hospitals may read under their grants but never author records. A doctor's own grant
    /// names its hospital and roster bit, so when it covers the category one more slot, the
    /// hospital's, settles both suspensions (two for a doctor without a roster bit). Otherwise the
    /// doctor's slot names the hospital, whose slot and grant are read next.
    function _hasAccess(address patient, address account, uint8 category, bool write)
        internal
        view
        returns (bool)
    {
        if (category >= CATEGORY_COUNT) return false;
        Member storage participant = _participants[account];
        if (account == patient) {
            Role role = participant.role;
            return role == Role.Patient;
        }
        mapping(address grantee => uint256) storage grants = _grants[patient];
        uint256 own = grants[account];
        address hospital = _hospitalOf(own);
        if (hospital != address(0)) {
            // A doctor's grant, live or lapsed: its hospital is known without the doctor's slot.
            if (!_covers(own, category, write) && !_covers(grants[hospital], category, write)) return false;
            return _doctorActive(account, hospital, _rosterBit(own));
        }
        if (participant.suspended) return false;
        Role role = participant.role;
        if (role == Role.Hospital) return !write && _covers(own, category, false);
        if (role != Role.Doctor) return false;
        // A doctor without a grant of its own: only its hospital's grant can cover it.
        hospital = address(participant.link);
        return !_participants[hospital].suspended && _covers(grants[hospital], category, write);
    }

    function _covers(uint256 grant, uint8 category, bool write) private view returns (bool) {
        return block.timestamp < _expiresAt(grant) && _inScope(grant, category) && (!write || _canWrite(grant));
    }

    /// @dev Whether neither the doctor nor its hospital is suspended. A doctor with a roster bit
    /// is looked up in its hospital's roster, which mirrors its own flag.
    function _doctorActive(address doctor, address hospital, uint256 rosterBit) private view returns (bool) {
        Member storage employer = _participants[hospital];
        if (employer.suspended) return false;
        if (rosterBit != 0) return (employer.link >> (rosterBit - 1)) & 1 == 0;
        return !_participants[doctor].suspended;
    }

    /// @dev A grantee's place, as {_grants} keeps it from bit _HOSPITAL_SHIFT on: a doctor's
    /// hospital and roster bit, zero for a hospital.
    function _placeOf(Member storage provider) private view returns (uint256 place) {
        if (provider.role != Role.Doctor) return 0;
        uint256 number = provider.count;
        place = uint256(provider.link);
        if (number < ROSTER_SIZE) place |= (number + 1) << (_ROSTER_BIT_SHIFT - _HOSPITAL_SHIFT);
    }

    function _pack(uint40 expiresAt, uint32 categories, bool writable, uint256 place)
        private
        pure
        returns (uint256)
    {
        return uint256(expiresAt) | (uint256(categories) << _CATEGORIES_SHIFT)
            | (writable ? 1 << _CAN_WRITE_SHIFT : 0) | (place << _HOSPITAL_SHIFT);
    }

    function _expiresAt(uint256 grant) internal pure returns (uint40) {
        return uint40(grant);
    }

    function _categories(uint256 grant) internal pure returns (uint32) {
        return uint32(grant >> _CATEGORIES_SHIFT);
    }

    /// @dev Whether `category` (below CATEGORY_COUNT, as every caller made sure) is in scope.
    function _inScope(uint256 grant, uint8 category) internal pure returns (bool) {
        return (grant >> _CATEGORIES_SHIFT >> category) & 1 == 1;
    }

    function _canWrite(uint256 grant) private pure returns (bool) {
        return (grant >> _CAN_WRITE_SHIFT) & 1 == 1;
    }

    function _hospitalOf(uint256 grant) internal pure returns (address) {
        return address(uint160(grant >> _HOSPITAL_SHIFT));
    }

    function _rosterBit(uint256 grant) private pure returns (uint256) {
        return grant >> _ROSTER_BIT_SHIFT;
    }

    function _requirePatient(address account) internal view {
        if (_participants[account].role != Role.Patient) revert RegistryNotAPatient(account);
    }

    /// @dev A doctor of a suspended hospital may still be granted: the grant stays inert, like
    /// the doctor's other grants, until the hospital is reinstated. Checking the hospital here
    /// too would cost every grant another cold storage read.
    function _requireActiveGrantee(address grantee) private view returns (Member storage provider) {
        provider = _requireProvider(grantee);
        if (provider.suspended) revert RegistryProviderSuspended(grantee);
    }

    function _requireValidExpiry(uint40 expiresAt) private view {
        if (expiresAt <= block.timestamp) revert AccessGrantsExpiryNotInFuture(expiresAt);
        uint256 latest = block.timestamp + MAX_GRANT_DURATION;
        if (expiresAt > latest) revert AccessGrantsExpiryTooFar(expiresAt, latest);
    }

    function _existingGrant(address patient, address grantee) private view returns (uint256 grant) {
        grant = _grants[patient][grantee];
        if (grant == 0) revert AccessGrantsNoGrant(patient, grantee);
    }
}
