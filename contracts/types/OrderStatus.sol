// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";

/// @notice What one `settle` call knows and has done of one order of its batch, in memory.
/// @dev From the lowest bits up: the check's outcome (8 bits: 0 not yet checked, `VALID`, or the
/// maker-side `SkipReason` that stops the order), then one bit each: the signature was accepted, the
/// order is an immediate-or-cancel order used by a fill (to kill after the call), its account has
/// window limits to check, and its fill-or-kill run has been settled.
type OrderStatus is uint256;

using OrderStatusLib for OrderStatus global;

library OrderStatusLib {
    uint256 private constant CODE_MASK = 0xff;
    uint256 private constant VALID = 0xff;
    uint256 private constant SIGNATURE_ACCEPTED = 1 << 8;
    uint256 private constant IOC_USED = 1 << 9;
    uint256 private constant HAS_WINDOW = 1 << 10;
    uint256 private constant FOK_USED = 1 << 11;

    /// @notice The status of an order whose signature does not verify.
    function rejected() internal pure returns (OrderStatus) {
        return OrderStatus.wrap(uint256(IExchange.SkipReason.MakerSignatureRejected));
    }

    /// @notice The status of a signed order that cannot fill now, for the maker-side `reason`.
    function invalid(IExchange.SkipReason reason) internal pure returns (OrderStatus) {
        return OrderStatus.wrap(SIGNATURE_ACCEPTED | uint256(reason));
    }

    /// @notice The status of a signed order that may fill, whose account has window limits or not.
    function valid(bool windowed) internal pure returns (OrderStatus) {
        return OrderStatus.wrap(SIGNATURE_ACCEPTED | VALID | (windowed ? HAS_WINDOW : 0));
    }

    /// @notice Whether the order has been checked in this call (its outcome is known).
    function isChecked(OrderStatus s) internal pure returns (bool) {
        return OrderStatus.unwrap(s) & CODE_MASK != 0;
    }

    /// @notice Whether the order may fill.
    function isValid(OrderStatus s) internal pure returns (bool) {
        return OrderStatus.unwrap(s) & CODE_MASK == VALID;
    }

    /// @notice The maker-side `SkipReason` of an order that may not fill (the taker's is one more).
    function skipReason(OrderStatus s) internal pure returns (uint256) {
        return OrderStatus.unwrap(s) & CODE_MASK;
    }

    /// @notice Whether the order's signature was accepted: only then may the call write its state.
    function signatureAccepted(OrderStatus s) internal pure returns (bool) {
        return OrderStatus.unwrap(s) & SIGNATURE_ACCEPTED != 0;
    }

    function hasWindow(OrderStatus s) internal pure returns (bool) {
        return OrderStatus.unwrap(s) & HAS_WINDOW != 0;
    }

    function iocUsed(OrderStatus s) internal pure returns (bool) {
        return OrderStatus.unwrap(s) & IOC_USED != 0;
    }

    function fokUsed(OrderStatus s) internal pure returns (bool) {
        return OrderStatus.unwrap(s) & FOK_USED != 0;
    }

    function withIocUsed(OrderStatus s) internal pure returns (OrderStatus) {
        return OrderStatus.wrap(OrderStatus.unwrap(s) | IOC_USED);
    }

    function withFokUsed(OrderStatus s) internal pure returns (OrderStatus) {
        return OrderStatus.wrap(OrderStatus.unwrap(s) | FOK_USED);
    }
}
