// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/**
 * @title Registry
 * @notice Who is who. Patients register themselves; the consortium admin (the contract owner)
 * vouches for hospitals and for doctors, each doctor belonging to one hospital, and may suspend
 * or reinstate any provider.
 * @dev Every participant registers a secp256k1 public key (64 bytes, uncompressed, without the
 * 0x04 prefix) that others use to wrap record keys for them. The key is accepted only if its
 * keccak256 hash gives the participant's address, which proves it is theirs. Keys live in events
 * only: nobody reads them on chain, and a storage copy would cost three slots.
 */
abstract contract Registry is Ownable2Step {
    enum Role {
        None,
        Patient,
        Hospital,
        Doctor,
        Device
    }

    /// @dev One slot per participant: 1 + 1 + 5 + 4 + 20 = 31 bytes.
    struct Participant {
        Role role;
        bool suspended; // providers: suspended by the admin; devices: revoked by their patient
        uint40 registeredAt;
        uint32 recordCount; // patients only: records indexed so far, also the last record number
        address affiliation; // a doctor's hospital, a device's patient
    }

    mapping(address account => Participant) internal _participants;

    /// @dev A patient's profile: the sha2-256 digest inside the CID of its encrypted envelope on
    /// IPFS (zero: none). A slot of its own, as the participant's slot has one byte left.
    mapping(address patient => bytes32 digest) internal _profiles;

    /// @notice `patient` registered itself with `publicKey`.
    event PatientRegistered(address indexed patient, bytes publicKey);

    /// @notice The admin registered `hospital` with `publicKey`.
    event HospitalRegistered(address indexed hospital, bytes publicKey);

    /// @notice The admin registered `doctor` of `hospital` with `publicKey`.
    event DoctorRegistered(address indexed doctor, address indexed hospital, bytes publicKey);

    /// @notice The admin suspended `provider`: it (and, for a hospital, its doctors) lost all access.
    event ProviderSuspended(address indexed provider);

    /// @notice The admin lifted the suspension of `provider`.
    event ProviderReinstated(address indexed provider);

    /// @notice `patient` published a new encrypted profile, stored on IPFS under `digest` (zero: withdrawn).
    event ProfileUpdated(address indexed patient, bytes32 digest);

    /// @dev `account` already has a role.
    error RegistryAlreadyRegistered(address account);

    /// @dev `publicKey` is not 64 bytes or does not hash to `account`.
    error RegistryInvalidPublicKey(address account);

    /// @dev `account` is not a registered patient.
    error RegistryNotAPatient(address account);

    /// @dev `account` is not a registered hospital.
    error RegistryNotAHospital(address account);

    /// @dev `account` is neither a registered hospital nor a registered doctor.
    error RegistryNotAProvider(address account);

    /// @dev `provider` is suspended, directly or (for a doctor) through its hospital.
    error RegistryProviderSuspended(address provider);

    /// @dev `provider` is not suspended.
    error RegistryProviderNotSuspended(address provider);

    /// @dev The consortium cannot be left without an admin.
    error RegistryRenounceDisabled();

    /**
     * @notice Registers the caller as a patient.
     * @param publicKey The caller's 64-byte uncompressed secp256k1 public key.
     */
    function registerPatient(bytes calldata publicKey) external {
        _register(msg.sender, Role.Patient, address(0), publicKey);
        emit PatientRegistered(msg.sender, publicKey);
    }

    /**
     * @notice Points the caller's profile at a new encrypted envelope (name, birth date, sex,
     * contact), readable only by the caller and those it granted access; zero withdraws it.
     * Registered patients only, for themselves.
     * @param digest The sha2-256 digest inside the envelope's CID, or zero.
     */
    function setProfile(bytes32 digest) external {
        _requirePatient(msg.sender);
        _profiles[msg.sender] = digest;
        emit ProfileUpdated(msg.sender, digest);
    }

    /**
     * @notice Registers `hospital`. Admin only.
     * @param hospital The hospital's address.
     * @param publicKey The hospital's 64-byte uncompressed secp256k1 public key.
     */
    function registerHospital(address hospital, bytes calldata publicKey) external onlyOwner {
        _register(hospital, Role.Hospital, address(0), publicKey);
        emit HospitalRegistered(hospital, publicKey);
    }

    /**
     * @notice Registers `doctor` as a member of the active hospital `hospital`. Admin only.
     * @param doctor The doctor's address.
     * @param hospital The address of a registered, unsuspended hospital.
     * @param publicKey The doctor's 64-byte uncompressed secp256k1 public key.
     */
    function registerDoctor(address doctor, address hospital, bytes calldata publicKey) external onlyOwner {
        Participant storage employer = _participants[hospital];
        if (employer.role != Role.Hospital) revert RegistryNotAHospital(hospital);
        if (employer.suspended) revert RegistryProviderSuspended(hospital);
        _register(doctor, Role.Doctor, hospital, publicKey);
        emit DoctorRegistered(doctor, hospital, publicKey);
    }

    /**
     * @notice Suspends a hospital or doctor: every access check for it fails until reinstated.
     * Suspending a hospital also suspends access through it for all of its doctors. Admin only.
     * @param provider The hospital or doctor to suspend.
     */
    function suspendProvider(address provider) external onlyOwner {
        Participant storage participant = _requireProvider(provider);
        if (participant.suspended) revert RegistryProviderSuspended(provider);
        participant.suspended = true;
        emit ProviderSuspended(provider);
    }

    /**
     * @notice Lifts the suspension of a hospital or doctor. Admin only.
     * @param provider The suspended hospital or doctor.
     */
    function reinstateProvider(address provider) external onlyOwner {
        Participant storage participant = _requireProvider(provider);
        if (!participant.suspended) revert RegistryProviderNotSuspended(provider);
        participant.suspended = false;
        emit ProviderReinstated(provider);
    }

    /**
     * @notice Disabled: a consortium without an admin could never vouch for a provider again.
     * Hand the role over with {transferOwnership} and {acceptOwnership} instead.
     */
    function renounceOwnership() public view override onlyOwner {
        revert RegistryRenounceDisabled();
    }

    /**
     * @notice Returns what the registry holds about `account` (role None if unknown).
     * @param account Any address.
     */
    function participantOf(address account) external view returns (Participant memory) {
        return _participants[account];
    }

    /**
     * @notice Returns the digest of `patient`'s current encrypted profile (zero: none).
     * @param patient Any address.
     */
    function profileOf(address patient) external view returns (bytes32) {
        return _profiles[patient];
    }

    /**
     * @notice Whether `account` is a registered provider whose access is not suspended, directly
     * or (for a doctor) through its hospital.
     * @param account Any address.
     */
    function isActiveProvider(address account) external view returns (bool) {
        return _isActiveProvider(account);
    }

    function _isActiveProvider(address account) internal view returns (bool) {
        Participant storage participant = _participants[account];
        if (participant.role == Role.Hospital) return !participant.suspended;
        return participant.role == Role.Doctor && !participant.suspended
            && !_participants[participant.affiliation].suspended;
    }

    function _register(address account, Role role, address affiliation, bytes calldata publicKey) internal {
        if (publicKey.length != 64 || address(uint160(uint256(keccak256(publicKey)))) != account) {
            revert RegistryInvalidPublicKey(account);
        }
        if (_participants[account].role != Role.None) revert RegistryAlreadyRegistered(account);
        _participants[account] = Participant({
            role: role,
            suspended: false,
            registeredAt: uint40(block.timestamp),
            recordCount: 0,
            affiliation: affiliation
        });
    }

    function _requirePatient(address account) internal view {
        if (_participants[account].role != Role.Patient) revert RegistryNotAPatient(account);
    }

    function _requireProvider(address account) internal view returns (Participant storage participant) {
        participant = _participants[account];
        if (participant.role != Role.Hospital && participant.role != Role.Doctor) {
            revert RegistryNotAProvider(account);
        }
    }
}
