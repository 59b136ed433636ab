// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../../interfaces/IExchange.sol";
import {Account} from "../../types/Account.sol";
import {OrderStatus, OrderStatusLib} from "../../types/OrderStatus.sol";

/// @notice Exposes the `OrderStatus` and `Account` value types' functions, for their unit tests.
contract TypesHarness {
    /// @notice What each accessor reads of a status built as `kind` says (0 rejected, 1 invalid with
    /// `reason`, 2 valid), after marking it IOC-used and/or FOK-used.
    function status(
        uint8 kind,
        IExchange.SkipReason reason,
        bool hasWindow,
        bool ioc,
        bool fok
    ) external pure returns (uint256 raw, bool[6] memory flags, uint256 skipReason) {
        OrderStatus s =
            kind == 0
                ? OrderStatusLib.rejected()
                : kind == 1
                    ? OrderStatusLib.invalid(reason)
                    : OrderStatusLib.valid(hasWindow);
        if (ioc) s = s.withIocUsed();
        if (fok) s = s.withFokUsed();
        flags = [s.isChecked(), s.isValid(), s.signatureAccepted(), s.hasWindow(), s.iocUsed(), s.fokUsed()];
        return (OrderStatus.unwrap(s), flags, s.skipReason());
    }

    /// @notice `statusOf` of an order with `expiry` and `nonce` at `time`: its skip reason (0xff: valid)
    /// and whether it has window limits to check.
    function statusOf(
        uint256 word,
        uint40 expiry,
        uint64 nonce,
        uint256 time
    ) external pure returns (uint256 skipReason, bool hasWindow) {
        IExchange.Order memory order;
        (order.expiry, order.nonce) = (expiry, nonce);
        OrderStatus s = Account.wrap(word).statusOf(order, time);
        return (s.skipReason(), s.hasWindow());
    }

    function minNonceAt(uint256 word, uint256 time) external pure returns (uint64) {
        return Account.wrap(word).minNonceAt(time);
    }

    function requestedFloor(uint256 word) external pure returns (uint64, uint32) {
        return Account.wrap(word).requestedFloor();
    }

    function withFloor(
        uint256 word,
        uint64 inForce,
        uint64 raised,
        uint256 effectiveAt
    ) external pure returns (uint256) {
        return Account.unwrap(Account.wrap(word).withFloor(inForce, raised, effectiveAt));
    }

    function cancelAfter(uint256 word) external pure returns (uint40) {
        return Account.wrap(word).cancelAfter();
    }

    function withCancelAfter(uint256 word, uint40 deadline) external pure returns (uint256) {
        return Account.unwrap(Account.wrap(word).withCancelAfter(deadline));
    }

    function checksWindowsAt(uint256 word, uint256 time) external pure returns (bool) {
        return Account.wrap(word).checksWindowsAt(time);
    }

    function withWindowLimitChange(
        uint256 word,
        bool wasLive,
        bool isLive,
        uint32 removalAt
    ) external pure returns (uint256) {
        return Account.unwrap(Account.wrap(word).withWindowLimitChange(wasLive, isLive, removalAt));
    }
}
