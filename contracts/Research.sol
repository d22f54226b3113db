// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CareChain} from "./CareChain.sol";
import {Registry} from "./Registry.sol";

/**
 * @title Research
 * @notice De-identified research queries beside CareChain. The consortium admin registers research
 * institutions, names the research steward and sets each dataset's privacy budget and minimum
 * cohort. Patients opt in per category by publishing a contribution (age band, sex, codes, mean
 * values; no identifiers) sealed for the steward; an institution submits a query, paying its
 * epsilon from the dataset's budget at once; the steward answers it with noisy aggregates over the
 * contributions opted in at that moment, or refuses it with a reason. Every query, its epsilon and
 * its answer are here for patients to see how their data was used.
 * @dev A contract of its own (CareChain is near the code size limit). The admin is CareChain's
 * owner, so the admin's handover carries over; patients are CareChain's registered patients.
 * A dataset is one category's contributions, numbered as CareChain's categories (0: vitals,
 * 1: labs, 2: conditions, 3: medications). Digests are the sha2-256 digests inside the CIDs of
 * the JSON objects on IPFS. Epsilon is counted in micro-epsilon (1e-6).
 */
contract Research {
    enum QueryStatus {
        None,
        Pending,
        Answered,
        Refused
    }

    /// @dev One slot per institution: 1 + 1 + 5 = 7 bytes.
    struct Institution {
        bool registered;
        bool suspended;
        uint40 registeredAt;
    }

    /// @dev One slot per dataset: 4 + 4 + 2 = 10 bytes.
    struct Dataset {
        uint32 budget; // micro-epsilon, for all institutions together, over the dataset's lifetime
        uint32 spent; // micro-epsilon charged so far: raised by every submitted query
        uint16 minCohort; // contributors a query's filters must match before it is answered (0: unset)
    }

    /// @dev Two slots per patient: 20 + 1 + 5 = 26 bytes, and the digest.
    struct Contribution {
        address steward; // the steward it is sealed for: one named later cannot open it
        uint8 categories; // the datasets opted in to, one bit per dataset
        uint40 updatedAt;
        bytes32 digest; // the sealed contribution on IPFS (zero: opted out)
    }

    /// @dev Three slots per query: 20 + 1 + 1 + 1 + 4 + 5 = 32 bytes, the query's digest, the result's.
    struct Query {
        address institution;
        uint8 dataset;
        QueryStatus status;
        uint8 refusal; // the steward's reason, when refused (see the library's REFUSALS)
        uint32 epsilon; // micro-epsilon charged at submission
        uint40 submittedAt;
        bytes32 query; // the canonical query JSON on IPFS, in plain text
        bytes32 result; // the released result JSON on IPFS, in plain text (zero: none)
    }

    /// @notice Datasets: categories 0 to 3 (vitals, labs, conditions, medications).
    uint8 public constant DATASET_COUNT = 4;
    uint8 private constant ALL_DATASETS = uint8((1 << DATASET_COUNT) - 1);

    /// @notice The CareChain deployment whose owner is the admin and whose patients contribute.
    /// @dev Not immutable: brownie could then not match the deployed code with the build. It
    /// shares a slot with the query counter.
    CareChain public care;
    uint64 private _queryCount;
    address private _steward;
    mapping(address account => Institution) private _institutions;
    mapping(uint8 dataset => Dataset) private _datasets;
    mapping(address patient => Contribution) private _contributions;
    mapping(uint64 id => Query) private _queries;

    /// @notice The admin registered the research institution `institution`.
    event InstitutionRegistered(address indexed institution);

    /// @notice The admin suspended `institution`: it may submit no query until reinstated.
    event InstitutionSuspended(address indexed institution);

    /// @notice The admin lifted the suspension of `institution`.
    event InstitutionReinstated(address indexed institution);

    /// @notice The admin named `steward`, whose 64-byte secp256k1 key is `publicKey`, to hold the
    /// contributions and answer queries. Contributions sealed for an earlier steward must be renewed.
    event StewardSet(address indexed steward, bytes publicKey);

    /// @notice The admin set the policy of `dataset`: a lifetime `budget` in micro-epsilon and a
    /// minimum cohort of `minCohort` contributors.
    event DatasetPolicySet(uint8 indexed dataset, uint32 budget, uint16 minCohort);

    /// @notice `patient` contributes to the datasets in `categories` with the sealed object
    /// `contribution` (both zero: opted out).
    event ContributionSet(address indexed patient, uint8 categories, bytes32 contribution);

    /// @notice `institution` submitted query `id` over `dataset` (the query JSON's digest: `query`),
    /// spending `epsilon` micro-epsilon of the dataset's budget.
    event QuerySubmitted(uint64 indexed id, address indexed institution, uint8 indexed dataset, bytes32 query,
        uint32 epsilon);

    /// @notice The steward answered query `id` with the result JSON `result`.
    event QueryAnswered(uint64 indexed id, bytes32 result);

    /// @notice The steward refused query `id` for `reason`.
    event QueryRefused(uint64 indexed id, uint8 reason);

    /// @dev Only the consortium admin (CareChain's owner) may do this; `account` is not it.
    error ResearchNotAdmin(address account);

    /// @dev `account` is a CareChain participant or the zero address, so it cannot be an institution.
    error ResearchInvalidInstitution(address account);

    /// @dev `account` is already a registered institution.
    error ResearchAlreadyRegistered(address account);

    /// @dev `account` is not a registered institution.
    error ResearchNotAnInstitution(address account);

    /// @dev `institution` is suspended.
    error ResearchInstitutionSuspended(address institution);

    /// @dev `institution` is not suspended.
    error ResearchInstitutionNotSuspended(address institution);

    /// @dev The steward's public key does not hash to its (non-zero) address.
    error ResearchInvalidPublicKey();

    /// @dev `account` is not a registered CareChain patient.
    error ResearchNotAPatient(address account);

    /// @dev There is no steward yet: nothing can be sealed for it.
    error ResearchNoSteward();

    /// @dev `account` is not the steward.
    error ResearchNotSteward(address account);

    /// @dev `dataset` is not a dataset (0 to DATASET_COUNT - 1).
    error ResearchUnknownDataset(uint8 dataset);

    /// @dev A minimum cohort must be at least 1.
    error ResearchInvalidMinCohort();

    /// @dev The new budget of `dataset` is below the `spent` micro-epsilon already charged.
    error ResearchBudgetBelowSpent(uint8 dataset, uint32 spent);

    /// @dev `categories` and `contribution` do not go together: both zero (opting out), or datasets
    /// only and a digest.
    error ResearchInvalidContribution(uint8 categories, bytes32 contribution);

    /// @dev A query needs a digest and an epsilon above zero.
    error ResearchInvalidQuery();

    /// @dev `dataset` has `remaining` micro-epsilon left, less than the query asks.
    error ResearchBudgetExhausted(uint8 dataset, uint32 remaining);

    /// @dev Query `id` is not waiting for the steward: unknown, answered or refused.
    error ResearchQueryNotPending(uint64 id);

    /// @dev An answer needs a result digest, a refusal a reason other than 0.
    error ResearchInvalidOutcome();

    modifier onlyAdmin() {
        if (msg.sender != care.owner()) revert ResearchNotAdmin(msg.sender);
        _;
    }

    /// @param care_ The CareChain deployment this one serves.
    constructor(CareChain care_) {
        care = care_;
    }

    /**
     * @notice Registers the research institution `institution`. Admin only.
     * @param institution An address that is no CareChain participant.
     */
    function registerInstitution(address institution) external onlyAdmin {
        if (institution == address(0) || care.participantOf(institution).role != Registry.Role.None) {
            revert ResearchInvalidInstitution(institution);
        }
        Institution storage stored = _institutions[institution];
        if (stored.registered) revert ResearchAlreadyRegistered(institution);
        _institutions[institution] =
            Institution({registered: true, suspended: false, registeredAt: uint40(block.timestamp)});
        emit InstitutionRegistered(institution);
    }

    /**
     * @notice Suspends `institution`: it may submit no query until reinstated. Admin only.
     * @param institution A registered, unsuspended institution.
     */
    function suspendInstitution(address institution) external onlyAdmin {
        Institution storage stored = _requireInstitution(institution);
        if (stored.suspended) revert ResearchInstitutionSuspended(institution);
        stored.suspended = true;
        emit InstitutionSuspended(institution);
    }

    /**
     * @notice Lifts the suspension of `institution`. Admin only.
     * @param institution A suspended institution.
     */
    function reinstateInstitution(address institution) external onlyAdmin {
        Institution storage stored = _requireInstitution(institution);
        if (!stored.suspended) revert ResearchInstitutionNotSuspended(institution);
        stored.suspended = false;
        emit InstitutionReinstated(institution);
    }

    /**
     * @notice Names the steward that holds the contributions and answers queries. Contributions
     * sealed for an earlier steward stay on chain but are not answered from until renewed. Admin only.
     * @param steward_ The steward's address.
     * @param publicKey Its 64-byte uncompressed secp256k1 public key, hashing to `steward_`.
     */
    function setSteward(address steward_, bytes calldata publicKey) external onlyAdmin {
        if (publicKey.length != 64 || address(uint160(uint256(keccak256(publicKey)))) != steward_) {
            revert ResearchInvalidPublicKey();
        }
        _steward = steward_;
        emit StewardSet(steward_, publicKey);
    }

    /**
     * @notice Sets the policy of `dataset`. The budget may be raised, or lowered down to what is
     * spent, never below. Admin only.
     * @param dataset A dataset, below DATASET_COUNT.
     * @param budget The lifetime budget, in micro-epsilon, for all institutions together.
     * @param minCohort The fewest contributors a query's filters must match; at least 1.
     */
    function setDatasetPolicy(uint8 dataset, uint32 budget, uint16 minCohort) external onlyAdmin {
        uint32 spent = _requireDataset(dataset).spent;
        if (minCohort == 0) revert ResearchInvalidMinCohort();
        if (budget < spent) revert ResearchBudgetBelowSpent(dataset, spent);
        _datasets[dataset] = Dataset({budget: budget, spent: spent, minCohort: minCohort});
        emit DatasetPolicySet(dataset, budget, minCohort);
    }

    /**
     * @notice Opts the caller in to the datasets in `categories` with a contribution sealed for the
     * current steward, replacing any earlier one; (0, 0) opts out of everything. The caller must be
     * a registered patient.
     * @param categories One bit per dataset (bit 0: vitals, ... bit 3: medications); 0 to opt out.
     * @param contribution The sealed contribution's digest; zero to opt out.
     */
    function setContribution(uint8 categories, bytes32 contribution) external {
        if (care.participantOf(msg.sender).role != Registry.Role.Patient) {
            revert ResearchNotAPatient(msg.sender);
        }
        if ((categories == 0) != (contribution == bytes32(0)) || categories & ~ALL_DATASETS != 0) {
            revert ResearchInvalidContribution(categories, contribution);
        }
        address steward_ = _steward;
        if (categories != 0 && steward_ == address(0)) revert ResearchNoSteward();
        _contributions[msg.sender] = Contribution({
            steward: categories == 0 ? address(0) : steward_,
            categories: categories,
            updatedAt: uint40(block.timestamp),
            digest: contribution
        });
        emit ContributionSet(msg.sender, categories, contribution);
    }

    /**
     * @notice Submits a query over `dataset`, charging `epsilon` to the dataset's budget now: a
     * query the steward then refuses is charged too. The caller must be an unsuspended institution.
     * @param dataset A dataset, below DATASET_COUNT.
     * @param query The digest of the canonical query JSON on IPFS (in plain text: patients read it).
     * @param epsilon The privacy loss the query may spend, in micro-epsilon; above zero.
     * @return id The query's number, from 1.
     */
    function submitQuery(uint8 dataset, bytes32 query, uint32 epsilon) external returns (uint64 id) {
        Institution storage institution = _requireInstitution(msg.sender);
        if (institution.suspended) revert ResearchInstitutionSuspended(msg.sender);
        Dataset storage stored = _requireDataset(dataset);
        if (query == bytes32(0) || epsilon == 0) revert ResearchInvalidQuery();
        uint32 remaining = stored.budget - stored.spent;
        if (epsilon > remaining) revert ResearchBudgetExhausted(dataset, remaining);
        stored.spent += epsilon;
        id = ++_queryCount;
        _queries[id] = Query({
            institution: msg.sender,
            dataset: dataset,
            status: QueryStatus.Pending,
            refusal: 0,
            epsilon: epsilon,
            submittedAt: uint40(block.timestamp),
            query: query,
            result: bytes32(0)
        });
        emit QuerySubmitted(id, msg.sender, dataset, query, epsilon);
    }

    /**
     * @notice Answers the pending query `id`. Steward only.
     * @param id A pending query.
     * @param result The digest of the result JSON on IPFS (noisy aggregates only, in plain text).
     */
    function answerQuery(uint64 id, bytes32 result) external {
        Query storage stored = _requirePending(id);
        if (result == bytes32(0)) revert ResearchInvalidOutcome();
        stored.status = QueryStatus.Answered;
        stored.result = result;
        emit QueryAnswered(id, result);
    }

    /**
     * @notice Refuses the pending query `id`; its epsilon stays spent. Steward only.
     * @param id A pending query.
     * @param reason Why, as a number other than 0 (the library's REFUSALS say it in words).
     */
    function refuseQuery(uint64 id, uint8 reason) external {
        Query storage stored = _requirePending(id);
        if (reason == 0) revert ResearchInvalidOutcome();
        stored.status = QueryStatus.Refused;
        stored.refusal = reason;
        emit QueryRefused(id, reason);
    }

    /**
     * @notice Returns what is held about `account` as an institution (registered false if none).
     * @param account Any address.
     */
    function institutionOf(address account) external view returns (Institution memory) {
        return _institutions[account];
    }

    /// @notice Returns the steward (the zero address: none yet).
    function steward() external view returns (address) {
        return _steward;
    }

    /**
     * @notice Returns the policy and spending of `dataset` (all zero: no policy, no query possible).
     * @param dataset Any dataset number.
     */
    function datasetOf(uint8 dataset) external view returns (Dataset memory) {
        return _datasets[dataset];
    }

    /**
     * @notice Returns `patient`'s current contribution (digest zero: not contributing).
     * @param patient Any address.
     */
    function contributionOf(address patient) external view returns (Contribution memory) {
        return _contributions[patient];
    }

    /**
     * @notice Returns query `id` (status None: no such query).
     * @param id Any number.
     */
    function queryOf(uint64 id) external view returns (Query memory) {
        return _queries[id];
    }

    /// @notice Returns the number of queries submitted so far, also the latest query's id.
    function queryCount() external view returns (uint64) {
        return _queryCount;
    }

    function _requireInstitution(address account) private view returns (Institution storage stored) {
        stored = _institutions[account];
        if (!stored.registered) revert ResearchNotAnInstitution(account);
    }

    function _requireDataset(uint8 dataset) private view returns (Dataset storage) {
        if (dataset >= DATASET_COUNT) revert ResearchUnknownDataset(dataset);
        return _datasets[dataset];
    }

    function _requirePending(uint64 id) private view returns (Query storage stored) {
        if (msg.sender != _steward) revert ResearchNotSteward(msg.sender);
        stored = _queries[id];
        if (stored.status != QueryStatus.Pending) revert ResearchQueryNotPending(id);
    }
}
