// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";

/// @title Copies of a `settle` call's orders and fills from calldata into memory
/// @notice `settle` reads each field of the current fill's two orders several times, and a memory
/// read costs a fraction of a validated calldata read, so it copies them once per fill. Like a
/// Solidity calldata read, a copy reverts (without data) when a field has bits beyond its type
/// (test/exchange/dirty-calldata.test.ts sends such calldata for every field).
library OrderCalldata {
    /// @notice Copies `src` into `dst`.
    function copyOrder(IExchange.Order calldata src, IExchange.Order memory dst) internal pure {
        assembly ("memory-safe") {
            calldatacopy(dst, src, 0x120)
            let dirty := shr(160, mload(dst)) // maker
            dirty := or(dirty, shr(32, mload(add(dst, 0x20)))) // marketId
            dirty := or(dirty, shr(1, mload(add(dst, 0x40)))) // isBuy
            dirty := or(dirty, shr(8, mload(add(dst, 0x60)))) // flags
            dirty := or(dirty, shr(16, mload(add(dst, 0x80)))) // maxFeeBps
            dirty := or(dirty, shr(40, mload(add(dst, 0xa0)))) // expiry
            dirty := or(dirty, shr(64, mload(add(dst, 0xc0)))) // nonce
            dirty := or(dirty, shr(64, mload(add(dst, 0xe0)))) // priceTicks
            dirty := or(dirty, shr(64, mload(add(dst, 0x100)))) // lots
            if dirty {
                revert(0, 0)
            }
        }
    }

    /// @notice Copies `src` into `dst`.
    function copyFill(IExchange.Fill calldata src, IExchange.Fill memory dst) internal pure {
        assembly ("memory-safe") {
            calldatacopy(dst, src, 0x60)
            let dirty := shr(32, mload(dst)) // makerIndex
            dirty := or(dirty, shr(32, mload(add(dst, 0x20)))) // takerIndex
            dirty := or(dirty, shr(64, mload(add(dst, 0x40)))) // lots
            if dirty {
                revert(0, 0)
            }
        }
    }
}
