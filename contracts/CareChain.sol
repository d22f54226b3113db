// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BreakGlass} from "./BreakGlass.sol";

/**
 * @title CareChain
 * @notice Patient-controlled medical records: the participant registry, the time-bound access
 * grants, the record index, access requests, endorsements of records, key recovery and break-glass
 * emergency access in one contract, so that an access check or a record write reads everything it
 * needs from local storage instead of paying for calls between contracts.
 * @dev The deployer names the consortium admin, who can hand the role on in two steps.
 */
contract CareChain is BreakGlass {
    /// @param admin The consortium admin: registers and suspends hospitals and doctors, sets the
    /// endorsement policies and the break-glass policy.
    constructor(address admin) Ownable(admin) {}
}
