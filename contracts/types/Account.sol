// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";
import {OrderStatus, OrderStatusLib} from "./OrderStatus.sol";

/// @notice What `settle` reads of an account, in one storage word: its nonce floor (and a raise not
/// yet in force), its cancel-after deadline, and whether its fills must look up window limits.
/// @dev From the lowest bits up: minNonce (64) | pendingMinNonce (64) | floorEffectiveAt (32) |
/// cancelAfter (40) | windowLimits (24) | windowCheckUntil (32). The floor in force at time `t` is
/// `pendingMinNonce` from `floorEffectiveAt` on and `minNonce` before (with nothing pending the two are
/// equal). `windowLimits` counts the markets whose limit, once any pending change applies, is set;
/// `windowCheckUntil` is when the last pending removal of a limit in force takes effect. Times are unix
/// seconds in 32 bits (until 2106), like the window limits'.
type Account is uint256;

using AccountLib for Account global;

library AccountLib {
    uint256 private constant PENDING_SHIFT = 64;
    uint256 private constant FLOOR_AT_SHIFT = 128;
    uint256 private constant CANCEL_AFTER_SHIFT = 160;
    uint256 private constant WINDOWS_SHIFT = 200;
    uint256 private constant CHECK_UNTIL_SHIFT = 224;
    uint256 private constant MASK_32 = (1 << 32) - 1;
    uint256 private constant MASK_40 = (1 << 40) - 1;

    /// @notice The status at `time` of a signed order of the account (by its expiry and nonce): the
    /// maker-side `SkipReason` of an expired order, of a nonce below the floor or of a passed
    /// cancel-after deadline (checked in that order), or valid.
    function statusOf(
        Account a,
        IExchange.Order memory order,
        uint256 time
    ) internal pure returns (OrderStatus status) {
        uint40 deadline = cancelAfter(a);
        if (time > order.expiry) status = OrderStatusLib.invalid(IExchange.SkipReason.MakerExpired);
        else if (order.nonce < minNonceAt(a, time)) {
            status = OrderStatusLib.invalid(IExchange.SkipReason.MakerNonceBelowFloor);
        } else if (deadline != 0 && time > deadline) {
            status = OrderStatusLib.invalid(IExchange.SkipReason.MakerCancelAfterPassed);
        } else status = OrderStatusLib.valid(checksWindowsAt(a, time));
    }

    /// @notice The nonce floor in force at `time`: the account's nonces below it never fill.
    function minNonceAt(Account a, uint256 time) internal pure returns (uint64) {
        uint256 word = Account.unwrap(a);
        return uint64(time >= (word >> FLOOR_AT_SHIFT) & MASK_32 ? word >> PENDING_SHIFT : word);
    }

    /// @notice The last floor requested and when it takes effect (in force once `time >= effectiveAt`).
    function requestedFloor(Account a) internal pure returns (uint64 minNonce, uint32 effectiveAt) {
        uint256 word = Account.unwrap(a);
        return (uint64(word >> PENDING_SHIFT), uint32(word >> FLOOR_AT_SHIFT));
    }

    /// @notice `a` with the floor `inForce` until `effectiveAt`, and `raised` from then on.
    function withFloor(Account a, uint64 inForce, uint64 raised, uint256 effectiveAt) internal pure returns (Account) {
        uint256 word = Account.unwrap(a) & ~((1 << CANCEL_AFTER_SHIFT) - 1);
        return
            Account.wrap(
                word | inForce | (uint256(raised) << PENDING_SHIFT) | ((effectiveAt & MASK_32) << FLOOR_AT_SHIFT)
            );
    }

    /// @notice The cancel-after deadline in force (0: none).
    function cancelAfter(Account a) internal pure returns (uint40) {
        return uint40(Account.unwrap(a) >> CANCEL_AFTER_SHIFT);
    }

    function withCancelAfter(Account a, uint40 deadline) internal pure returns (Account) {
        uint256 word = Account.unwrap(a) & ~(MASK_40 << CANCEL_AFTER_SHIFT);
        return Account.wrap(word | (uint256(deadline) << CANCEL_AFTER_SHIFT));
    }

    /// @notice Whether the account's fills must look up its window limits at `time`.
    function checksWindowsAt(Account a, uint256 time) internal pure returns (bool) {
        uint256 word = Account.unwrap(a);
        return uint24(word >> WINDOWS_SHIFT) != 0 || time < word >> CHECK_UNTIL_SHIFT;
    }

    /// @notice `a` after one market's limit changed: set (once pending changes apply) before or not,
    /// and now; and, for a limit in force whose removal is pending, when that removal takes effect.
    function withWindowLimitChange(
        Account a,
        bool wasLive,
        bool isLive,
        uint32 removalAt
    ) internal pure returns (Account) {
        uint256 word = Account.unwrap(a);
        // Checked: a 2^24th live limit of one account overflows and reverts.
        uint24 count = uint24(word >> WINDOWS_SHIFT);
        if (isLive && !wasLive) ++count;
        else if (wasLive && !isLive) --count;
        uint256 until = word >> CHECK_UNTIL_SHIFT;
        if (removalAt > until) until = removalAt;
        word &= (1 << WINDOWS_SHIFT) - 1;
        return Account.wrap(word | (uint256(count) << WINDOWS_SHIFT) | (until << CHECK_UNTIL_SHIFT));
    }
}
