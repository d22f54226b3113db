// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessGrants} from "./AccessGrants.sol";

/**
 * @title RecordIndex
 * @notice The append-only index of each patient's encrypted records. An entry holds the 32-byte
 * sha2-256 digest of the record's IPFS CID, its author, category and time, and which later entry
 * superseded it. Entries are added by the patient or by a doctor holding an unexpired write grant;
 * a correction supersedes an entry, never overwrites it.
 * @dev Records are numbered per patient from 1 (0 means none). Two slots per record: number ->
 * digest for paging, digest -> entry for O(1) lookups and duplicate detection.
 */
abstract contract RecordIndex is AccessGrants {
    /// @notice The most entries {recordsPage} returns at once.
    uint256 public constant MAX_PAGE_SIZE = 100;

    /// @dev One slot per record: 20 + 1 + 5 + 4 = 30 bytes. author == 0 means no such record.
    struct Record {
        address author;
        uint8 category;
        uint40 addedAt;
        uint32 supersededBy; // number of the record that replaced this one; 0: current
    }

    mapping(address patient => mapping(uint256 number => bytes32 digest)) private _digests;
    mapping(address patient => mapping(bytes32 digest => Record)) private _records;

    /// @notice `author` indexed record `number` of `patient`.
    event RecordAdded(
        address indexed patient, bytes32 indexed digest, address indexed author, uint32 number, uint8 category
    );

    /// @notice The record `newDigest` of `patient` superseded the record `oldDigest`.
    event RecordSuperseded(address indexed patient, bytes32 indexed oldDigest, bytes32 indexed newDigest);

    /// @notice `reader` read the record `digest` of `patient`.
    event RecordRead(address indexed patient, address indexed reader, bytes32 indexed digest);

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
     * patient's audit trail. It changes no state and checks no grant: a read that happened just
     * before an expiry must still be logged after it.
     * @param patient The patient whose record was read.
     * @param digest The digest of an indexed record of `patient`.
     */
    function logRead(address patient, bytes32 digest) external {
        if (_records[patient][digest].author == address(0)) revert RecordIndexUnknownRecord(patient, digest);
        emit RecordRead(patient, msg.sender, digest);
    }

    /**
     * @notice Returns the number of records indexed for `patient`, which is also the last number.
     * @param patient Any address.
     */
    function recordCount(address patient) external view returns (uint256) {
        return _participants[patient].recordCount;
    }

    /**
     * @notice Returns the entry of the record `digest` of `patient` (author zero: none).
     * @param patient Any address.
     * @param digest A record digest.
     */
    function recordOf(address patient, bytes32 digest) external view returns (Record memory) {
        return _records[patient][digest];
    }

    /**
     * @notice Returns up to `limit` (at most MAX_PAGE_SIZE) records of `patient` from number
     * `first` on, oldest first; fewer at the end of the index.
     * @param patient Any address.
     * @param first The first record number, from 1.
     * @param limit The page size wanted.
     * @return digests The records' digests.
     * @return records The records' entries, in the same order.
     */
    function recordsPage(address patient, uint256 first, uint256 limit)
        external
        view
        returns (bytes32[] memory digests, Record[] memory records)
    {
        uint256 count = _participants[patient].recordCount;
        if (first == 0) first = 1;
        if (limit > MAX_PAGE_SIZE) limit = MAX_PAGE_SIZE;
        uint256 size = first > count ? 0 : count - first + 1;
        if (size > limit) size = limit;
        digests = new bytes32[](size);
        records = new Record[](size);
        for (uint256 i = 0; i < size; ++i) {
            bytes32 digest = _digests[patient][first + i];
            digests[i] = digest;
            records[i] = _records[patient][digest];
        }
    }

    function _add(address patient, bytes32 digest, uint8 category) private returns (uint32 number) {
        if (digest == bytes32(0)) revert RecordIndexEmptyDigest();
        if (category >= CATEGORY_COUNT) revert RecordIndexInvalidCategory(category);
        _requirePatient(patient);
        if (!_hasAccess(patient, msg.sender, category, true)) {
            revert RecordIndexUnauthorizedAuthor(patient, msg.sender, category);
        }
        if (_records[patient][digest].author != address(0)) revert RecordIndexDuplicateRecord(patient, digest);
        number = ++_participants[patient].recordCount;
        _digests[patient][number] = digest;
        _records[patient][digest] =
            Record({author: msg.sender, category: category, addedAt: uint40(block.timestamp), supersededBy: 0});
        emit RecordAdded(patient, digest, msg.sender, number, category);
    }
}
