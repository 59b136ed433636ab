// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";
import {FillChecks} from "./FillChecks.sol";

/// @title Fill state of a maker's nonces, and their cancellation
/// @notice Four neighbouring nonces share one storage word of 64-bit lanes, so a maker who counts its
/// nonces up pays for a fresh slot once every four orders. A lane holds the lots filled under its
/// nonce (below 2^63: orders are at most `MAX_LOTS`), with the top bit set once the maker has asked
/// to cancel it; `CANCELLED` (every bit) marks a nonce dead outright. A requested cancel takes effect
/// at a time kept in the matching lane of the word's neighbour slot, read only for such nonces: until
/// then the nonce still fills, so a cancel cannot undo a fill that was matched before it.
library FillState {
    /// @notice A dead nonce's lane, and what `filled` reads for it.
    uint64 internal constant CANCELLED = type(uint64).max;
    /// @notice The lane's flag of a requested cancel.
    uint64 internal constant CANCEL_REQUESTED = 1 << 63;
    /// @notice The most lots an order may have: fill counts stay below the flag bit.
    uint64 internal constant MAX_LOTS = CANCEL_REQUESTED - 1;

    /// @notice The fill state of nonces `4k .. 4k+3`, and when their requested cancels take effect.
    struct Word {
        uint256 lanes;
        uint256 cancelTimes;
    }

    /// @notice The word holding `maker`'s `nonce`: look it up once, then read and write it.
    /// @dev One flat mapping keyed by `maker << 62 | nonce >> 2` (222 bits, no collisions) costs one
    /// hash per lookup where a mapping of mappings costs two; the word's two slots are neighbours.
    function wordOf(
        mapping(uint256 => Word) storage words,
        address maker,
        uint64 nonce
    ) internal view returns (Word storage) {
        return words[(uint256(uint160(maker)) << 62) | (nonce >> 2)];
    }

    /// @notice `nonce`'s lane of a word's `lanes`: the lots filled under it, unless its flag is set
    /// (`CANCEL_REQUESTED`): then `filledAt` tells.
    function laneOf(uint256 lanes, uint64 nonce) internal pure returns (uint64) {
        return uint64(lanes >> _shift(nonce));
    }

    /// @notice `lanes` with `lots` added to `nonce`'s count; the caller has checked that it stays
    /// within an order (so nothing carries into the flag or the next lane).
    function withAdded(uint256 lanes, uint64 nonce, uint64 lots) internal pure returns (uint256) {
        unchecked {
            return lanes + (uint256(lots) << _shift(nonce));
        }
    }

    /// @notice The lots filled under `nonce`, and whether it is dead at `time`.
    function filledAt(Word storage word, uint64 nonce, uint256 time) internal view returns (uint64, bool) {
        uint256 shift = _shift(nonce);
        uint64 lane = uint64(word.lanes >> shift);
        if (lane < CANCEL_REQUESTED) return (lane, false);
        return _cancelRequested(word, lane, shift, time);
    }

    /// @notice What `filled(maker, nonce)` reads at `time`: the lots filled, or `CANCELLED` once dead.
    function filledView(Word storage word, uint64 nonce, uint256 time) internal view returns (uint64) {
        (uint64 lots, bool dead) = filledAt(word, nonce, time);
        return dead ? CANCELLED : lots;
    }

    /// @notice When a requested cancel of `nonce` takes effect, while it has not yet; else 0.
    function pendingCancel(Word storage word, uint64 nonce, uint256 time) internal view returns (uint40) {
        uint256 shift = _shift(nonce);
        uint64 lane = uint64(word.lanes >> shift);
        if (lane < CANCEL_REQUESTED || lane == CANCELLED) return 0;
        uint64 effectiveAt = uint64(word.cancelTimes >> shift);
        return time < effectiveAt ? uint40(effectiveAt) : 0;
    }

    /// @notice The fill-state checks of a fill at `time`, changing nothing: 0, a dead order's
    /// `SkipReason`, or a `FillExceedsOrder` revert; and the two orders' words, with their lanes as read.
    function checkSizes(
        mapping(uint256 => Word) storage words,
        IExchange.Order memory makerOrder,
        IExchange.Order memory takerOrder,
        IExchange.Fill memory fill,
        uint256 fillIndex,
        uint256 time
    )
        internal
        view
        returns (uint256 reason, Word storage makerWord, Word storage takerWord, uint256 makerLanes, uint256 takerLanes)
    {
        makerWord = wordOf(words, makerOrder.maker, makerOrder.nonce);
        takerWord = wordOf(words, takerOrder.maker, takerOrder.nonce);
        (makerLanes, takerLanes) = (makerWord.lanes, takerWord.lanes);
        uint64 makerFilled = laneOf(makerLanes, makerOrder.nonce);
        uint64 takerFilled = laneOf(takerLanes, takerOrder.nonce);
        bool makerDead;
        bool takerDead;
        // A lane with its flag set: the nonce is being cancelled, or is dead.
        if (makerFilled >= CANCEL_REQUESTED) (makerFilled, makerDead) = filledAt(makerWord, makerOrder.nonce, time);
        if (takerFilled >= CANCEL_REQUESTED) (takerFilled, takerDead) = filledAt(takerWord, takerOrder.nonce, time);
        if (makerDead) reason = uint256(IExchange.SkipReason.MakerCancelled);
        else if (takerDead) reason = uint256(IExchange.SkipReason.TakerCancelled);
        uint64 lots = fill.lots;
        bool over;
        // In 256 bits neither sum can overflow. A count can exceed an order's lots when another order
        // signed under the same nonce filled more.
        unchecked {
            over = uint256(makerFilled) + lots > makerOrder.lots || uint256(takerFilled) + lots > takerOrder.lots;
        }
        if (reason == 0 && over) {
            FillChecks.checkRemaining(makerOrder.lots, makerFilled, lots, fill.makerIndex, fillIndex);
            FillChecks.checkRemaining(takerOrder.lots, takerFilled, lots, fill.takerIndex, fillIndex);
        }
    }

    /// @notice Adds `lots` to `nonce`'s count; the caller has checked that it stays within an order.
    function addFilled(Word storage word, uint64 nonce, uint64 lots) internal {
        // count + lots <= an order's lots <= MAX_LOTS: nothing carries into the flag or the next lane.
        unchecked {
            word.lanes += uint256(lots) << _shift(nonce);
        }
    }

    /// @notice Takes back `lots` that `addFilled` added in this call.
    function subFilled(Word storage word, uint64 nonce, uint64 lots) internal {
        unchecked {
            word.lanes -= uint256(lots) << _shift(nonce);
        }
    }

    /// @notice Makes `nonce` dead at once. Returns whether it was not dead already.
    function kill(Word storage word, uint64 nonce) internal returns (bool) {
        uint256 shift = _shift(nonce);
        uint256 lanes = word.lanes;
        if (uint64(lanes >> shift) == CANCELLED) return false;
        word.lanes = lanes | (uint256(CANCELLED) << shift);
        return true;
    }

    /// @notice Asks for `nonce` to be dead from `effectiveAt` on (at once when that is `now` or
    /// earlier), keeping an earlier request's time. Returns when the nonce is (or was) dead.
    function requestCancel(
        Word storage word,
        uint64 nonce,
        uint256 effectiveAt,
        uint256 now_
    ) internal returns (uint256) {
        uint256 shift = _shift(nonce);
        uint256 lanes = word.lanes;
        uint64 lane = uint64(lanes >> shift);
        if (lane == CANCELLED) return now_;
        if (lane >= CANCEL_REQUESTED) return uint64(word.cancelTimes >> shift);
        if (effectiveAt <= now_) {
            word.lanes = lanes | (uint256(CANCELLED) << shift);
            return now_;
        }
        word.lanes = lanes | (uint256(CANCEL_REQUESTED) << shift);
        word.cancelTimes = (word.cancelTimes & ~(uint256(type(uint64).max) << shift)) | (effectiveAt << shift);
        return effectiveAt;
    }

    /// @dev `filledAt` for a lane with its flag set: dead outright, or once its cancel's time has come.
    function _cancelRequested(
        Word storage word,
        uint64 lane,
        uint256 shift,
        uint256 time
    ) private view returns (uint64, bool) {
        if (lane == CANCELLED) return (0, true);
        return (lane & MAX_LOTS, time >= uint64(word.cancelTimes >> shift));
    }

    function _shift(uint64 nonce) private pure returns (uint256) {
        return uint256(nonce & 3) << 6;
    }
}
