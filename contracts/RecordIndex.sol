// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessGrants} from "./AccessGrants.sol";

/**
 * @title RecordIndex
 * @notice The append-only index of each patient's encrypted records. An entry holds the 32-byte
 * sha2-256 digest of the record's IPFS CID, its author, category and time, which later entry
 * superseded it, and whether the patient disputes it. Entries are added by the patient or by a
 * doctor holding an unexpired write grant; a correction supersedes an entry, never overwrites it,
 * and the patient may flag an entry it contests as disputed. Reads are logged by the patient or by
 * a provider whose grant covers the record.
 * @dev Records are numbered per patient from 1 (0 means none). One slot per record, digest ->
 * entry, for O(1) lookups and duplicate detection; the numbers and the order of a patient's records
 * are in the RecordAdded events, which the library's event index follows.
 */
abstract contract RecordIndex is AccessGrants {
    /// @notice How long after a grant's expiry its holder may still log a read made under it.
    uint256 public constant READ_LOG_GRACE = 1 hours;

    /// @dev One slot per record: 20 + 1 + 5 + 4 + 1 = 31 bytes. author == 0 means no such record.
    struct Record {
        address author;
        uint8 category;
        uint40 addedAt;
        uint32 supersededBy; // number of the record that replaced this one; 0: current
        bool disputed; // set by the patient: it contests this entry
    }

    mapping(address patient => mapping(bytes32 digest => Record)) private _records;

    /// @notice `author` indexed record `number` of `patient`.
    event RecordAdded(
        address indexed patient, bytes32 indexed digest, address indexed author, uint32 number, uint8 category
    );

    /// @notice The record `newDigest` of `patient` superseded the record `oldDigest`.
    event RecordSuperseded(address indexed patient, bytes32 indexed oldDigest, bytes32 indexed newDigest);

    /// @notice `reader` read the record `digest` of `patient`.
    event RecordRead(address indexed patient, address indexed reader, bytes32 indexed digest);

    /// @notice `reader` listed the titles and dates of the records of `patient` in `categories`
    /// (a bit mask of categories), without opening them.
    event RecordsListed(address indexed patient, address indexed reader, uint32 categories);

    /// @notice `doctor` acknowledged the early-warning alert `digest` of `patient`.
    event AlertAcknowledged(address indexed patient, bytes32 indexed digest, address indexed doctor);

    /// @notice `patient` flagged its record `digest` as disputed (`disputed` true) or withdrew the
    /// dispute (false).
    event RecordDisputed(address indexed patient, bytes32 indexed digest, bool disputed);

    /// @dev `reader` may not list the records of `patient` in `categories` (none, or one not covered).
    error RecordIndexUnauthorizedListing(address patient, address reader, uint32 categories);

    /// @dev The zero digest is not a record.
    error RecordIndexEmptyDigest();

    /// @dev `category` is not below CATEGORY_COUNT.
    error RecordIndexInvalidCategory(uint8 category);

    /// @dev `patient` already has a record with `digest`.
    error RecordIndexDuplicateRecord(address patient, bytes32 digest);

    /// @dev `patient` has no record with `digest`.
    error RecordIndexUnknownRecord(address patient, bytes32 digest);

    /// @dev `author` may not add records of `patient` in `category`.
    error RecordIndexUnauthorizedAuthor(address patient, address author, uint8 category);

    /// @dev The record `digest` of `patient` was already superseded.
    error RecordIndexAlreadySuperseded(address patient, bytes32 digest);

    /// @dev Only the patient or the record's own author may supersede the record `digest`.
    error RecordIndexNotRecordAuthor(address patient, bytes32 digest, address account);

    /// @dev `reader` is neither `patient` nor a provider whose grant covers the record `digest`
    /// (or expired at most READ_LOG_GRACE ago).
    error RecordIndexUnauthorizedReader(address patient, address reader, bytes32 digest);

    /**
     * @notice Indexes a record of `patient` stored on IPFS. Callable by the patient, or by a
     * doctor with an unexpired write grant covering `category`.
     * @param patient The registered patient the record belongs to.
     * @param digest The sha2-256 digest of the record's CID; unique per patient, not zero.
     * @param category The record category, below CATEGORY_COUNT.
     */
    function addRecord(address patient, bytes32 digest, uint8 category) external {
        _add(patient, digest, category);
    }

    /**
     * @notice Indexes `newDigest` as the replacement of the current record `oldDigest` of
     * `patient`, in the same category: a correction, or the same content under a new key after a
     * revocation. The old entry stays, marked as superseded. Callable by the patient, or by the
     * old record's author while it holds an unexpired write grant for the category.
     * @param patient The registered patient the records belong to.
     * @param oldDigest A current (not yet superseded) record of `patient`.
     * @param newDigest The digest of the replacement; unique per patient, not zero.
     */
    function supersedeRecord(address patient, bytes32 oldDigest, bytes32 newDigest) external {
        Record storage old = _records[patient][oldDigest];
        Record memory replaced = old;
        if (replaced.author == address(0)) revert RecordIndexUnknownRecord(patient, oldDigest);
        if (replaced.supersededBy != 0) revert RecordIndexAlreadySuperseded(patient, oldDigest);
        if (msg.sender != patient && msg.sender != replaced.author) {
            revert RecordIndexNotRecordAuthor(patient, oldDigest, msg.sender);
        }
        old.supersededBy = _add(patient, newDigest, replaced.category);
        emit RecordSuperseded(patient, oldDigest, newDigest);
    }

    /**
     * @notice Logs on chain that the caller read the record `digest` of `patient`, for the
     * patient's audit trail; it changes no state. Callable by the patient, or by a provider whose
     * own grant (or, for a doctor, its hospital's grant) covers the record's category and expired
     * at most READ_LOG_GRACE ago, so that a read made just before an expiry is still logged after
     * it. A revoked grant allows nothing. Suspension is not checked: the read happened under a grant.
     * @param patient The patient whose record was read.
     * @param digest The digest of an indexed record of `patient`.
     */
    function logRead(address patient, bytes32 digest) external {
        _logRead(patient, digest);
    }

    /**
     * @notice Logs reads of several records of `patient` at once (a chart of a day of vitals),
     * each as {logRead} would; all or none.
     * @param patient The patient whose records were read.
     * @param digests Digests of indexed records of `patient`.
     */
    function logReads(address patient, bytes32[] calldata digests) external {
        for (uint256 i = 0; i < digests.length; ++i) {
            _logRead(patient, digests[i]);
        }
    }

    /**
     * @notice Logs on chain that the caller listed the titles and clinical dates of the records of
     * `patient` in `categories`, for the patient's audit trail; it changes no state. A list is not
     * a read: the records' contents stay unopened, and each opening is logged by {logRead}.
     * Callable by a provider whose grant covers every category listed, as for {logRead}.
     * @param patient The patient whose records were listed.
     * @param categories A non-empty bit mask of the categories listed.
     */
    function logListing(address patient, uint32 categories) external {
        if (categories == 0) revert RecordIndexUnauthorizedListing(patient, msg.sender, categories);
        for (uint8 category = 0; categories >> category != 0; ++category) {
            if ((categories >> category) & 1 == 1 && !_mayLogRead(patient, msg.sender, category)) {
                revert RecordIndexUnauthorizedListing(patient, msg.sender, categories);
            }
        }
        emit RecordsListed(patient, msg.sender, categories);
    }

    /**
     * @notice Records that the caller, a doctor whose grant covers the record (as for
     * {logRead}), acknowledged the early-warning alert `digest` of `patient`. The chain does not
     * know which records are alerts; the library only offers acknowledging its own alert records.
     * @param patient The patient the alert is about.
     * @param digest The digest of the alert record.
     */
    function acknowledgeAlert(address patient, bytes32 digest) external {
        Record storage record = _records[patient][digest];
        if (record.author == address(0)) revert RecordIndexUnknownRecord(patient, digest);
        if (_participants[msg.sender].role != Role.Doctor || !_mayLogRead(patient, msg.sender, record.category)) {
            revert RecordIndexUnauthorizedReader(patient, msg.sender, digest);
        }
        emit AlertAcknowledged(patient, digest, msg.sender);
    }

    /**
     * @notice Flags the caller's record `digest` as disputed, or withdraws the dispute: the entry
     * stays in the index (entries are append-only) but readers see that the patient contests it.
     * Setting the current value again is allowed and logged again.
     * @param digest The digest of an indexed record of the caller, a registered patient.
     * @param disputed True to dispute the record, false to withdraw the dispute.
     */
    function disputeRecord(bytes32 digest, bool disputed) external {
        Record storage record = _records[msg.sender][digest];
        if (record.author == address(0)) revert RecordIndexUnknownRecord(msg.sender, digest);
        record.disputed = disputed;
        emit RecordDisputed(msg.sender, digest, disputed);
    }

    /**
     * @notice Returns the number of records indexed for `patient`, which is also the last number.
     * @param patient Any address.
     */
    function recordCount(address patient) external view returns (uint256) {
        return _participants[patient].recordCount;
    }

    /**
     * @notice Returns the entry of the record `digest` of `patient` (author zero: none): author,
     * category, addedAt, supersededBy and disputed.
     * @param patient Any address.
     * @param digest A record digest.
     */
    function recordOf(address patient, bytes32 digest) external view returns (Record memory) {
        return _records[patient][digest];
    }

    /**
     * @notice Returns the entry of the record `digest` of `patient` (author zero: none) and the
     * second at which `reader`'s access to it ends, as {canAccess} decides it: 0 if `reader` may
     * not read it now, type(uint40).max for the patient itself. One call for what opening a
     * record needs to know.
     * @param patient Any address.
     * @param digest A record digest.
     * @param reader The account that wants to read the record.
     */
    function recordAccessOf(address patient, bytes32 digest, address reader)
        external
        view
        returns (Record memory record, uint40 readableUntil)
    {
        record = _records[patient][digest];
        if (record.author != address(0)) readableUntil = _readableUntil(patient, reader, record.category);
    }

    /**
     * @notice Returns the entries of the records `digests` of `patient` (as {recordOf}, author
     * zero: none), in the same order: one call to confirm a page of records the event index lists.
     * @param patient Any address.
     * @param digests Record digests.
     */
    function recordsOf(address patient, bytes32[] calldata digests) external view returns (Record[] memory records) {
        mapping(bytes32 digest => Record) storage entries = _records[patient];
        records = new Record[](digests.length);
        for (uint256 i = 0; i < digests.length; ++i) {
            records[i] = entries[digests[i]];
        }
    }

    /// @dev The entry of the record `digest` of `patient`; reverts if there is none.
    function _existingRecord(address patient, bytes32 digest) internal view returns (Record storage record) {
        record = _records[patient][digest];
        if (record.author == address(0)) revert RecordIndexUnknownRecord(patient, digest);
    }

    function _add(address patient, bytes32 digest, uint8 category) private returns (uint32 number) {
        if (digest == bytes32(0)) revert RecordIndexEmptyDigest();
        if (category >= CATEGORY_COUNT) revert RecordIndexInvalidCategory(category);
        _requirePatient(patient);
        if (!_mayWrite(patient, msg.sender, category)) {
            revert RecordIndexUnauthorizedAuthor(patient, msg.sender, category);
        }
        Record storage record = _records[patient][digest];
        if (record.author != address(0)) revert RecordIndexDuplicateRecord(patient, digest);
        number = ++_participants[patient].recordCount;
        // The slot was never written (every written entry has an author), so supersededBy and
        // disputed are already zero. Writing the fields, not a struct literal, stores once.
        record.author = msg.sender;
        record.category = category;
        record.addedAt = uint40(block.timestamp);
        emit RecordAdded(patient, digest, msg.sender, number, category);
    }

    function _logRead(address patient, bytes32 digest) private {
        Record storage record = _records[patient][digest];
        if (record.author == address(0)) revert RecordIndexUnknownRecord(patient, digest);
        if (msg.sender != patient && !_mayLogRead(patient, msg.sender, record.category)) {
            revert RecordIndexUnauthorizedReader(patient, msg.sender, digest);
        }
        emit RecordRead(patient, msg.sender, digest);
    }

    /// @dev Checks the reader's own grant slot first, and only then its participant slot and its
    /// hospital's grant: a direct grantee pays for one cold slot, a hospital's doctor for three.
    function _mayLogRead(address patient, address reader, uint8 category) private view returns (bool) {
        mapping(address grantee => Grant) storage grants = _grants[patient];
        if (_coversRead(grants[reader], category)) return true;
        Participant storage participant = _participants[reader];
        return participant.role == Role.Doctor && _coversRead(grants[participant.affiliation], category);
    }

    /// @dev A revoked grant is deleted, so its empty scope covers nothing.
    function _coversRead(Grant storage grant, uint8 category) private view returns (bool) {
        // uint40 + 1 hour cannot overflow uint256.
        unchecked {
            return (grant.categories >> category) & 1 == 1
                && block.timestamp <= uint256(grant.expiresAt) + READ_LOG_GRACE;
        }
    }
}
