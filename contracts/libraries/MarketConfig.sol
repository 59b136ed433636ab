// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IExchange} from "../interfaces/IExchange.sol";
import {PriceBand} from "./PriceBand.sol";

/// @title A market's storage and the admin's changes to it
/// @notice Deployed on its own and linked into `Exchange` (its functions are `external`, so they run
/// by DELEGATECALL on the Exchange's storage): the admin's setters are rarely called and keeping
/// them out of the Exchange's code leaves room under the 24 KiB contract size limit for a fully
/// optimised `settle`. Every check and event is the Exchange's, as documented in `IExchange`.
/// `bandBounds` is internal: `settle` uses it, and `priceBounds` wraps it for the view.
library MarketConfig {
    /// @notice No market fee can be set above 1%.
    uint16 internal constant MAX_FEE_BPS = 100;
    /// @notice Gas given to a price feed's `latestRoundData`, so that no feed can eat a batch's gas.
    uint256 internal constant FEED_GAS_LIMIT = 100_000;
    /// @dev Feed and token decimals above this are refused, which keeps the band arithmetic in range.
    uint8 internal constant MAX_DECIMALS = 18;

    /// @notice A listed market. `settle` reads slots 0-2 once per call, slot 3 only while a band or
    /// a velocity limit is set (and writes it once per call then), slot 4 only while a feed is set.
    struct Market {
        // slot 0
        address base;
        uint96 lotSize;
        // slot 1
        address quote;
        uint96 tickSize;
        // slot 2: parameters
        uint16 makerFeeBps;
        uint16 takerFeeBps;
        bool halted;
        bool hasFeed;
        uint16 bandBps;
        uint64 maxLotsPerBlock;
        // slot 3: state tracked while a band or velocity limit is set
        uint64 lastPriceTicks;
        uint64 stateBlock;
        uint64 lotsThisBlock;
        // slot 4: the feed, and the power of ten that turns its answer into ticks per lot
        address feed;
        uint32 feedMaxAge;
        uint8 feedScaleExponent;
        bool feedScaleUp; // the power of ten multiplies the lot size (else the tick size)
    }

    /// @notice Fills in a new market `m` (the Exchange picks its id).
    function list(
        Market storage m,
        uint32 marketId,
        address base,
        address quote,
        uint128 lotSize,
        uint128 tickSize,
        uint16 makerFeeBps,
        uint16 takerFeeBps
    ) external {
        if (base == quote || base.code.length == 0 || quote.code.length == 0) {
            revert IExchange.InvalidMarketTokens(base, quote);
        }
        if (lotSize == 0 || tickSize == 0 || lotSize > type(uint96).max || tickSize > type(uint96).max) {
            revert IExchange.InvalidMarketSize(lotSize, tickSize);
        }
        checkFee(makerFeeBps);
        checkFee(takerFeeBps);
        (m.base, m.lotSize, m.quote, m.tickSize) = (base, uint96(lotSize), quote, uint96(tickSize));
        (m.makerFeeBps, m.takerFeeBps) = (makerFeeBps, takerFeeBps);
        emit IExchange.MarketListed(marketId, base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps);
    }

    /// @notice Sets the price band of `m` and, when `referencePriceTicks` is not zero, its last price.
    function setPriceBand(Market storage m, uint32 marketId, uint16 bandBps, uint64 referencePriceTicks) external {
        if (bandBps > PriceBand.BPS) revert IExchange.InvalidPriceBand(bandBps);
        uint64 oldReference = m.lastPriceTicks;
        uint64 newReference = referencePriceTicks == 0 ? oldReference : referencePriceTicks;
        if (bandBps != 0 && !m.hasFeed && newReference == 0) revert IExchange.NoReferencePrice(marketId);
        uint16 oldBandBps = m.bandBps;
        (m.bandBps, m.lastPriceTicks) = (bandBps, newReference);
        emit IExchange.PriceBandChanged(marketId, oldBandBps, bandBps, oldReference, newReference);
    }

    /// @notice Sets or (with the zero address) removes the price feed of `m`.
    function setPriceFeed(Market storage m, uint32 marketId, address feed, uint32 maxAgeSeconds) external {
        (address oldFeed, uint32 oldMaxAge) = (m.feed, m.feedMaxAge);
        if (feed == address(0)) {
            if (m.bandBps != 0 && m.lastPriceTicks == 0) revert IExchange.NoReferencePrice(marketId);
            (m.hasFeed, m.feed, m.feedMaxAge, m.feedScaleExponent, m.feedScaleUp) = (false, address(0), 0, 0, false);
            emit IExchange.PriceFeedChanged(marketId, oldFeed, feed, oldMaxAge, maxAgeSeconds);
            return;
        }
        uint8 feedDecimals = AggregatorV3Interface(feed).decimals();
        uint8 baseDecimals = IERC20Metadata(m.base).decimals();
        uint8 quoteDecimals = IERC20Metadata(m.quote).decimals();
        if (feedDecimals > MAX_DECIMALS || baseDecimals > MAX_DECIMALS || quoteDecimals > MAX_DECIMALS) {
            revert IExchange.UnsupportedDecimals(feedDecimals, baseDecimals, quoteDecimals);
        }
        // ticks per lot = answer * lotSize * 10^quoteDecimals / (tickSize * 10^(feedDecimals + baseDecimals))
        uint8 down = feedDecimals + baseDecimals;
        (m.feedScaleUp, m.feedScaleExponent) =
            quoteDecimals >= down ? (true, quoteDecimals - down) : (false, down - quoteDecimals);
        (m.hasFeed, m.feed, m.feedMaxAge) = (true, feed, maxAgeSeconds);
        emit IExchange.PriceFeedChanged(marketId, oldFeed, feed, oldMaxAge, maxAgeSeconds);
    }

    /// @notice Sets the fees of `m`, each at most `MAX_FEE_BPS`.
    function setFees(Market storage m, uint32 marketId, uint16 makerFeeBps, uint16 takerFeeBps) external {
        checkFee(makerFeeBps);
        checkFee(takerFeeBps);
        (uint16 oldMaker, uint16 oldTaker) = (m.makerFeeBps, m.takerFeeBps);
        (m.makerFeeBps, m.takerFeeBps) = (makerFeeBps, takerFeeBps);
        emit IExchange.FeesChanged(marketId, oldMaker, oldTaker, makerFeeBps, takerFeeBps);
    }

    /// @notice Sets the velocity limit of `m` (0: none).
    function setVelocityLimit(Market storage m, uint32 marketId, uint64 maxLotsPerBlock) external {
        uint64 old = m.maxLotsPerBlock;
        m.maxLotsPerBlock = maxLotsPerBlock;
        emit IExchange.VelocityLimitChanged(marketId, old, maxLotsPerBlock);
    }

    /// @notice Halts or resumes `m`; reverts `NoStateChange` when it already is as asked.
    function setHalted(Market storage m, uint32 marketId, bool halted) external {
        if (m.halted == halted) revert IExchange.NoStateChange();
        m.halted = halted;
        emit IExchange.MarketHaltChanged(marketId, !halted, halted);
    }

    /// @notice The prices a fill in `m` may have now (`IExchange.priceBounds`).
    function priceBounds(Market storage m) external view returns (bool available, uint64 low, uint64 high) {
        uint16 bandBps = m.bandBps;
        if (bandBps == 0) return (true, 0, type(uint64).max);
        return bandBounds(m, bandBps);
    }

    /// @notice The band `[low, high]` around the market's reference price, or `available == false`
    /// when there is no usable reference: a stale, non-positive or failing feed, or, without a
    /// feed, no last price.
    function bandBounds(
        Market storage m,
        uint16 bandBps
    ) internal view returns (bool available, uint64 low, uint64 high) {
        // The reference is `value * num / den` ticks per lot: the last price (1 / 1), or the feed's answer.
        uint256 value = m.lastPriceTicks;
        uint256 num = 1;
        uint256 den = 1;
        if (m.hasFeed) {
            (bool answered, int256 answer, uint256 updatedAt) = _latestRoundData(m.feed);
            bool fresh = updatedAt <= block.timestamp && block.timestamp - updatedAt <= m.feedMaxAge;
            value = answered && answer > 0 && fresh ? uint256(answer) : 0;
            // The answer is the price of one whole base unit in whole quote units, with the feed's
            // decimals; in ticks per lot that is answer * lotSize * 10^quoteDecimals /
            // (tickSize * 10^(feedDecimals + baseDecimals)), and the power of ten left after
            // cancelling is stored as feedScaleExponent on the side feedScaleUp says.
            uint256 scale = 10 ** m.feedScaleExponent;
            (num, den) = m.feedScaleUp
                ? (uint256(m.lotSize) * scale, uint256(m.tickSize))
                : (uint256(m.lotSize), uint256(m.tickSize) * scale);
        }
        if (value == 0) return (false, 0, 0);
        (low, high) = PriceBand.bounds(value, num, den, bandBps);
        return (true, low, high);
    }

    /// @dev Calls the feed's `latestRoundData` with a fixed allowance (`FEED_GAS_LIMIT`) and reads a
    /// fixed-size answer (its five words), so that a feed that burns gas, answers megabytes or
    /// reverts makes only its market's fills skip.
    function _latestRoundData(address feed) private view returns (bool answered, int256 answer, uint256 updatedAt) {
        bytes4 selector = AggregatorV3Interface.latestRoundData.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            let success := staticcall(FEED_GAS_LIMIT, feed, ptr, 4, ptr, 0xa0)
            answered := and(success, iszero(lt(returndatasize(), 0xa0)))
            answer := mload(add(ptr, 0x20))
            updatedAt := mload(add(ptr, 0x60))
        }
    }

    /// @notice Reverts unless `feeBps` is within the cap.
    function checkFee(uint16 feeBps) internal pure {
        if (feeBps > MAX_FEE_BPS) revert IExchange.FeeAboveCap(feeBps, MAX_FEE_BPS);
    }
}
