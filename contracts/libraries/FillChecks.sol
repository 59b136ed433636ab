// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";

/// @title The keeper mistakes a fill can carry: each reverts the whole `settle` call
/// @notice What depends only on the batch's shape, the two signed orders and the fill's size; the
/// fill state's part (`FillExceedsOrder`) is checked against the counts `FillState.checkSizes` reads.
library FillChecks {
    uint8 internal constant POST_ONLY = 1;
    uint8 internal constant IMMEDIATE_OR_CANCEL = 2;
    uint8 internal constant FILL_OR_KILL = 4;
    uint8 private constant KNOWN_FLAGS = POST_ONLY | IMMEDIATE_OR_CANCEL | FILL_OR_KILL;

    /// @notice Reverts unless both indices of `fill` point into the batch's `orderCount` orders.
    function checkIndices(IExchange.Fill memory fill, uint256 orderCount, uint256 fillIndex) internal pure {
        uint256 makerIndex = fill.makerIndex;
        uint256 takerIndex = fill.takerIndex;
        if ((makerIndex < takerIndex ? takerIndex : makerIndex) >= orderCount) {
            uint256 outside = makerIndex >= orderCount ? makerIndex : takerIndex;
            revert IExchange.OrderIndexOutOfRange(fillIndex, outside, orderCount);
        }
    }

    /// @notice Reverts unless the fill has lots and its two orders may trade with each other: known
    /// flags, a maker that is not fill-or-kill and a taker that is not post-only, one market,
    /// opposite sides, crossing prices, two different orders.
    function checkPair(
        IExchange.Order memory makerOrder,
        IExchange.Order memory takerOrder,
        IExchange.Fill memory fill,
        uint256 fillIndex
    ) internal pure {
        if (fill.lots == 0) revert IExchange.ZeroLotFill(fillIndex);
        uint8 makerFlags = makerOrder.flags;
        uint8 takerFlags = takerOrder.flags;
        // One test for the flags on the common path; the failing one is named below.
        if ((makerFlags & (~KNOWN_FLAGS | FILL_OR_KILL)) | (takerFlags & (~KNOWN_FLAGS | POST_ONLY)) != 0) {
            if (makerFlags & ~KNOWN_FLAGS != 0) revert IExchange.InvalidFlags(fillIndex, fill.makerIndex, makerFlags);
            if (takerFlags & ~KNOWN_FLAGS != 0) revert IExchange.InvalidFlags(fillIndex, fill.takerIndex, takerFlags);
            if (takerFlags & POST_ONLY != 0) revert IExchange.PostOnlyTaker(fillIndex, fill.takerIndex);
            revert IExchange.FillOrKillMaker(fillIndex, fill.makerIndex);
        }
        if (makerOrder.marketId != takerOrder.marketId) {
            revert IExchange.MarketMismatch(fillIndex, makerOrder.marketId, takerOrder.marketId);
        }
        if (makerOrder.isBuy == takerOrder.isBuy) revert IExchange.SameSide(fillIndex, makerOrder.isBuy);
        if (
            makerOrder.isBuy
                ? takerOrder.priceTicks > makerOrder.priceTicks
                : takerOrder.priceTicks < makerOrder.priceTicks
        ) revert IExchange.PricesDoNotCross(fillIndex, makerOrder.priceTicks, takerOrder.priceTicks);
        if (makerOrder.maker == takerOrder.maker && makerOrder.nonce == takerOrder.nonce) {
            revert IExchange.SameOrderOnBothSides(fillIndex, makerOrder.maker, makerOrder.nonce);
        }
    }

    /// @notice Reverts `FillExceedsOrder` when `requested` lots exceed what is left of an order of
    /// `orderLots` with `filledLots` filled (more than its lots when another order of its nonce filled).
    function checkRemaining(
        uint64 orderLots,
        uint64 filledLots,
        uint64 requested,
        uint256 orderIndex,
        uint256 fillIndex
    ) internal pure {
        uint64 remaining = filledLots >= orderLots ? 0 : orderLots - filledLots;
        if (requested > remaining) revert IExchange.FillExceedsOrder(fillIndex, orderIndex, remaining, requested);
    }
}
