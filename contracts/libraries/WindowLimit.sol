// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";
import {Account} from "../types/Account.sol";

/// @title An account's own cap on the lots it trades in one market per window of time
/// @notice A trader (typically a market-making bot's owner) caps what its own orders can fill:
/// at most `maxLots` lots per window of `windowSeconds`. A window starts with the first fill after
/// the previous window ended, so every window that holds a fill holds at most `maxLots`.
/// Tightening takes effect after the Exchange's firmness delay (a fill matched before it still
/// settles); loosening (a higher cap, a shorter window, or no limit) waits `LOOSEN_DELAY`, so a stolen
/// bot key cannot lift the cap and drain the account in one block. One change is pending at a time.
/// `set` and `current` are `external` (this library is deployed and linked, like `MarketConfig`, to
/// keep the Exchange under the contract size limit); the functions `settle` uses are internal.
/// @dev The whole state is one packed word, read and written with shifts: `settle` checks and
/// counts a market maker's fills against it on every fill, and a struct's field-by-field access
/// cost several times as much (measured with `npm run bench:gas`, market-maker+limits).
library WindowLimit {
    /// @notice How long a loosening waits before it applies.
    uint32 internal constant LOOSEN_DELAY = 1 hours;

    /// @notice The state, packed from the lowest bits up:
    ///   maxLots (48) | windowSeconds (24) | windowStart (32) | usedLots (48) |
    ///   pendingMaxLots (48) | pendingWindowSeconds (24) | pendingEffectiveAt (32)
    /// `windowSeconds == 0` means no limit; `pendingEffectiveAt == 0` means nothing pending.
    struct State {
        uint256 word;
    }

    /// @notice The key of `account`'s limit on `marketId` in a flat mapping (192 bits, no collisions):
    /// one hash per lookup where a mapping of mappings costs two.
    function key(address account, uint32 marketId) internal pure returns (uint256) {
        return (uint256(uint160(account)) << 32) | marketId;
    }

    /// @notice The unpacked state, for views and for `set`.
    struct Fields {
        uint48 maxLots;
        uint24 windowSeconds;
        uint32 windowStart;
        uint48 usedLots;
        uint48 pendingMaxLots;
        uint24 pendingWindowSeconds;
        uint32 pendingEffectiveAt;
    }

    uint256 private constant WINDOW_SHIFT = 48;
    uint256 private constant START_SHIFT = 72;
    uint256 private constant USED_SHIFT = 104;
    uint256 private constant PENDING_MAX_SHIFT = 152;
    uint256 private constant PENDING_WINDOW_SHIFT = 200;
    uint256 private constant PENDING_AT_SHIFT = 224;
    uint256 private constant MASK_24 = (1 << 24) - 1;
    uint256 private constant MASK_32 = (1 << 32) - 1;
    uint256 private constant MASK_48 = (1 << 48) - 1;

    /// @notice `msg.sender` asks for `(maxLots, windowSeconds)` on `marketId` (`IExchange.setWindowLimit`).
    /// It replaces any pending change and takes effect `firmnessDelay` from now when it is at least as
    /// tight as the limit in force (so that it cannot undo a fill matched before it), `LOOSEN_DELAY`
    /// from now otherwise. The account's word keeps count of its markets whose limit, once pending
    /// changes apply, is set, and of when a limit in force that is being removed stops applying: its
    /// fills look limits up only while either says so.
    function set(
        mapping(uint256 => State) storage states,
        mapping(address => Account) storage accounts,
        uint32 marketId,
        uint48 maxLots,
        uint24 windowSeconds,
        uint32 firmnessDelay
    ) external {
        if (maxLots == 0 && windowSeconds != 0) revert IExchange.InvalidWindowLimit(maxLots, windowSeconds);
        State storage state = states[key(msg.sender, marketId)];
        // A due change applies first. The window itself stays as stored: a window starts only with a
        // fill, so setting a limit never opens one (an ended one is reset by the next fill).
        uint256 stored = state.word;
        bool wasLive = _eventualWindow(stored) != 0;
        uint256 windowBits = (MASK_32 << START_SHIFT) | (MASK_48 << USED_SHIFT);
        Fields memory f = unpack((asOf(stored, block.timestamp) & ~windowBits) | (stored & windowBits));
        bool tightening = _isTightening(f, maxLots, windowSeconds);
        uint32 effectiveAt = uint32(block.timestamp) + (tightening ? firmnessDelay : LOOSEN_DELAY);
        (f.pendingMaxLots, f.pendingWindowSeconds, f.pendingEffectiveAt) = (maxLots, windowSeconds, effectiveAt);
        state.word = pack(f);
        bool isLive = windowSeconds != 0;
        uint32 removalAt = f.windowSeconds != 0 && !isLive ? effectiveAt : 0;
        if (wasLive != isLive || removalAt != 0) {
            accounts[msg.sender] = accounts[msg.sender].withWindowLimitChange(wasLive, isLive, removalAt);
        }
        emit IExchange.WindowLimitChangeScheduled(
            msg.sender,
            marketId,
            f.maxLots,
            f.windowSeconds,
            maxLots,
            windowSeconds,
            effectiveAt
        );
    }

    /// @notice The state as it stands now (`IExchange.windowLimit`): a due change applied, and
    /// `windowStart` 0 while no window is open (none has a fill yet, or the last one ended).
    function current(State storage state) external view returns (Fields memory f) {
        f = unpack(asOf(state.word, block.timestamp));
        if (f.usedLots == 0) f.windowStart = 0;
    }

    /// @notice Whether the account may trade `lots` more at `time`, and its state word once it has:
    /// the word to store after the fill executes (unchanged when it has no limit).
    function take(uint256 word, uint256 time, uint64 lots) internal pure returns (bool allowed, uint256 updated) {
        updated = asOf(word, time);
        if ((updated >> WINDOW_SHIFT) & MASK_24 == 0) return (true, updated); // no limit (now)
        uint256 maxLots = updated & MASK_48;
        uint256 used = (updated >> USED_SHIFT) & MASK_48;
        if (used >= maxLots || maxLots - used < lots) return (false, word);
        // lots <= maxLots - usedLots, so the new usedLots fits in its 48 bits.
        updated += uint256(lots) << USED_SHIFT;
        return (true, updated);
    }

    /// @notice Gives back `lots` consumed earlier in this call (a fill-or-kill run undone). When
    /// that empties the window, the window is closed, so the next fill starts a new one: the
    /// account is never left with more room, or an earlier end, than without the undone fills.
    function giveBack(State storage state, uint64 lots) internal {
        uint256 word = state.word;
        if ((word >> WINDOW_SHIFT) & MASK_24 == 0) return;
        // These lots were added to usedLots earlier in this call.
        word -= uint256(lots) << USED_SHIFT;
        if ((word >> USED_SHIFT) & MASK_48 == 0) word &= ~(MASK_32 << START_SHIFT);
        state.word = word;
    }

    /// @notice The packed word's fields.
    function unpack(uint256 word) internal pure returns (Fields memory f) {
        f.maxLots = uint48(word);
        f.windowSeconds = uint24(word >> WINDOW_SHIFT);
        f.windowStart = uint32(word >> START_SHIFT);
        f.usedLots = uint48(word >> USED_SHIFT);
        f.pendingMaxLots = uint48(word >> PENDING_MAX_SHIFT);
        f.pendingWindowSeconds = uint24(word >> PENDING_WINDOW_SHIFT);
        f.pendingEffectiveAt = uint32(word >> PENDING_AT_SHIFT);
    }

    /// @notice The fields packed into one word.
    function pack(Fields memory f) internal pure returns (uint256) {
        return
            uint256(f.maxLots) |
            (uint256(f.windowSeconds) << WINDOW_SHIFT) |
            (uint256(f.windowStart) << START_SHIFT) |
            (uint256(f.usedLots) << USED_SHIFT) |
            (uint256(f.pendingMaxLots) << PENDING_MAX_SHIFT) |
            (uint256(f.pendingWindowSeconds) << PENDING_WINDOW_SHIFT) |
            (uint256(f.pendingEffectiveAt) << PENDING_AT_SHIFT);
    }

    /// @notice `word` as it stands at `time`: a due loosening applied, and a new, empty window if the
    /// last one ended.
    function asOf(uint256 word, uint256 time) internal pure returns (uint256) {
        uint256 effectiveAt = word >> PENDING_AT_SHIFT;
        if (effectiveAt != 0 && time >= effectiveAt) {
            uint256 pendingMax = (word >> PENDING_MAX_SHIFT) & MASK_48;
            uint256 pendingWindow = (word >> PENDING_WINDOW_SHIFT) & MASK_24;
            // Keep windowStart and usedLots; take the pending cap and window; clear the pending part.
            word = (word & (((1 << PENDING_MAX_SHIFT) - 1) & ~MASK_48 & ~(MASK_24 << WINDOW_SHIFT))) | pendingMax;
            word |= pendingWindow << WINDOW_SHIFT;
        }
        uint256 window = (word >> WINDOW_SHIFT) & MASK_24;
        if (window != 0 && time >= ((word >> START_SHIFT) & MASK_32) + window) {
            // A new window from `time` (timestamps fit in 32 bits until 2106) with nothing used.
            word = (word & ~(MASK_32 << START_SHIFT) & ~(MASK_48 << USED_SHIFT)) | (time << START_SHIFT);
        }
        return word;
    }

    /// @dev The window length of the limit once a pending change applies (0: no limit).
    function _eventualWindow(uint256 word) private pure returns (uint256) {
        return (word >> (word >> PENDING_AT_SHIFT == 0 ? WINDOW_SHIFT : PENDING_WINDOW_SHIFT)) & MASK_24;
    }

    function _isTightening(Fields memory f, uint48 maxLots, uint24 windowSeconds) private pure returns (bool) {
        if (windowSeconds == 0) return f.windowSeconds == 0; // removing a limit loosens it
        if (f.windowSeconds == 0) return true; // any limit is tighter than none
        return maxLots <= f.maxLots && windowSeconds >= f.windowSeconds;
    }
}
