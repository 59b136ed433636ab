// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";

/// @title An account's own cap on the lots it trades in one market per window of time
/// @notice A trader (typically a market-making bot's owner) caps what its own orders can fill:
/// at most `maxLots` lots per window of `windowSeconds`. A window starts with the first fill after
/// the previous window ended, so every window that holds a fill holds at most `maxLots`.
/// Tightening takes effect at once; loosening (a higher cap, a shorter window, or no limit) waits
/// `LOOSEN_DELAY`, so a stolen bot key cannot lift the cap and drain the account in one block.
/// `set` is `external` (this library is deployed and linked, like `MarketConfig`, to keep the
/// Exchange under the contract size limit); the functions `settle` uses are internal.
library WindowLimit {
    /// @notice How long a loosening waits before it applies.
    uint32 internal constant LOOSEN_DELAY = 1 hours;

    /// @notice The whole state, in one slot. `windowSeconds == 0` means no limit.
    struct State {
        uint48 maxLots;
        uint24 windowSeconds;
        uint32 windowStart;
        uint48 usedLots;
        uint48 pendingMaxLots;
        uint24 pendingWindowSeconds;
        uint32 pendingEffectiveAt; // 0: nothing pending
    }

    /// @notice `account` asks for `(maxLots, windowSeconds)` on `marketId`: applied now if it is at
    /// least as tight as the current limit (dropping any pending loosening), else scheduled.
    /// Returns whether the account had, and has, a limit or a pending one on this market.
    function set(
        State storage state,
        address account,
        uint32 marketId,
        uint48 maxLots,
        uint24 windowSeconds
    ) external returns (bool hadLimit, bool hasLimit) {
        if (maxLots == 0 && windowSeconds != 0) revert IExchange.InvalidWindowLimit(maxLots, windowSeconds);
        refresh(state, block.timestamp); // apply a loosening that is already due, first
        hadLimit = state.windowSeconds != 0 || state.pendingEffectiveAt != 0;
        if (isTightening(state, maxLots, windowSeconds)) {
            emit IExchange.WindowLimitChanged(
                account,
                marketId,
                state.maxLots,
                state.windowSeconds,
                maxLots,
                windowSeconds
            );
            (state.maxLots, state.windowSeconds) = (maxLots, windowSeconds);
            (state.pendingMaxLots, state.pendingWindowSeconds, state.pendingEffectiveAt) = (0, 0, 0);
        } else {
            uint32 effectiveAt = uint32(block.timestamp) + LOOSEN_DELAY;
            (state.pendingMaxLots, state.pendingWindowSeconds, state.pendingEffectiveAt) = (
                maxLots,
                windowSeconds,
                effectiveAt
            );
            emit IExchange.WindowLimitLooseningScheduled(account, marketId, maxLots, windowSeconds, effectiveAt);
        }
        hasLimit = state.windowSeconds != 0 || state.pendingEffectiveAt != 0;
    }

    /// @notice Whether `(maxLots, windowSeconds)` is at least as tight as `state`'s current limit.
    function isTightening(State storage state, uint48 maxLots, uint24 windowSeconds) internal view returns (bool) {
        if (windowSeconds == 0) return state.windowSeconds == 0; // removing a limit loosens it
        if (state.windowSeconds == 0) return true; // any limit is tighter than none
        return maxLots <= state.maxLots && windowSeconds >= state.windowSeconds;
    }

    /// @notice Applies a pending loosening whose time has come, and starts a new window when the
    /// current one has ended. Returns the lots the account may still trade in this window, or
    /// `type(uint256).max` when it has no limit.
    function refresh(State storage state, uint256 time) internal returns (uint256 available) {
        uint32 effectiveAt = state.pendingEffectiveAt;
        if (effectiveAt != 0 && time >= effectiveAt) {
            // The loosening applies now; the event for it was emitted when it was scheduled.
            state.maxLots = state.pendingMaxLots;
            state.windowSeconds = state.pendingWindowSeconds;
            state.pendingMaxLots = 0;
            state.pendingWindowSeconds = 0;
            state.pendingEffectiveAt = 0;
        }
        uint24 window = state.windowSeconds;
        if (window == 0) return type(uint256).max;
        if (time >= uint256(state.windowStart) + window) {
            state.windowStart = uint32(time);
            state.usedLots = 0;
        }
        uint48 used = state.usedLots;
        uint48 cap = state.maxLots;
        return used >= cap ? 0 : cap - used;
    }

    /// @notice Counts `lots` against the current window. Call only after `refresh` allowed them.
    function consume(State storage state, uint64 lots) internal {
        if (state.windowSeconds == 0) return;
        // lots <= what refresh returned <= maxLots - usedLots, so the sum fits in 48 bits.
        state.usedLots += uint48(lots);
    }

    /// @notice Gives back `lots` consumed earlier in this call (a fill-or-kill run undone). When
    /// that empties the window, the window is closed, so the next fill starts a new one: the
    /// account is never left with more room, or an earlier end, than without the undone fills.
    function giveBack(State storage state, uint64 lots) internal {
        if (state.windowSeconds == 0) return;
        uint48 used = state.usedLots - uint48(lots);
        state.usedLots = used;
        if (used == 0) state.windowStart = 0;
    }
}
