// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Registry} from "./Registry.sol";

/**
 * @title Devices
 * @notice Devices a patient pairs (a bedside hub, a phone app, a wearable gateway). Each has a key
 * of its own and may add records of its patient in the vitals category only, until the patient
 * revokes it. A revoked device stays revoked: pairing again means a new key.
 * @dev A device is a participant with role Device, affiliated with its patient; revoking sets its
 * `suspended` flag, so a device's write reads no slot beyond those every write reads.
 */
abstract contract Devices is Registry {
    /// @notice The only record category devices may add to (vitals).
    uint8 public constant DEVICE_CATEGORY = 0;

    /// @notice `patient` paired `device`, which registered `publicKey`.
    event DeviceAuthorized(address indexed patient, address indexed device, bytes publicKey);

    /// @notice `patient` revoked `device`: it can add nothing more.
    event DeviceRevoked(address indexed patient, address indexed device);

    /// @dev `device` is not a device of `patient`.
    error DevicesNotYourDevice(address patient, address device);

    /// @dev `device` was already revoked.
    error DevicesAlreadyRevoked(address device);

    /**
     * @notice Pairs `device` with the caller, a registered patient: the device may add the
     * caller's vitals records from now on.
     * @param device The device's address, not yet registered in any role.
     * @param publicKey The device's 64-byte uncompressed secp256k1 public key.
     */
    function authorizeDevice(address device, bytes calldata publicKey) external {
        _requirePatient(msg.sender);
        _register(device, Role.Device, msg.sender, publicKey);
        emit DeviceAuthorized(msg.sender, device, publicKey);
    }

    /**
     * @notice Revokes one of the caller's devices at once and for good; its records stay.
     * @param device A device the caller paired and has not revoked.
     */
    function revokeDevice(address device) external {
        Participant storage participant = _participants[device];
        if (participant.role != Role.Device || participant.affiliation != msg.sender) {
            revert DevicesNotYourDevice(msg.sender, device);
        }
        if (participant.suspended) revert DevicesAlreadyRevoked(device);
        participant.suspended = true;
        emit DeviceRevoked(msg.sender, device);
    }
}
