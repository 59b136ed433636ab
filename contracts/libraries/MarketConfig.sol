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
/// `bandBounds` is internal: `settle` and the `priceBounds` view share it.
library MarketConfig {
    /// @notice No market fee can be set above 1%.
    uint16 internal constant MAX_FEE_BPS = 100;
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
        emit IExchange.PriceBandChanged(marketId, m.bandBps, bandBps, oldReference, newReference);
        m.bandBps = bandBps;
        m.lastPriceTicks = newReference;
    }

    /// @notice Sets or (with the zero address) removes the price feed of `m`.
    function setPriceFeed(Market storage m, uint32 marketId, address feed, uint32 maxAgeSeconds) external {
        emit IExchange.PriceFeedChanged(marketId, m.feed, feed, m.feedMaxAge, maxAgeSeconds);
        if (feed == address(0)) {
            if (m.bandBps != 0 && m.lastPriceTicks == 0) revert IExchange.NoReferencePrice(marketId);
            (m.hasFeed, m.feed, m.feedMaxAge, m.feedScaleExponent, m.feedScaleUp) = (false, address(0), 0, 0, false);
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
    }

    /// @notice The band `[low, high]` around the market's reference price, or `available == false`
    /// when there is no usable reference: a stale, non-positive or failing feed, or, without a
    /// feed, no last price.
    function bandBounds(
        Market storage m,
        uint16 bandBps
    ) internal view returns (bool available, uint64 low, uint64 high) {
        if (!m.hasFeed) {
            uint64 lastPrice = m.lastPriceTicks;
            if (lastPrice == 0) return (false, 0, 0);
            (low, high) = PriceBand.bounds(lastPrice, 1, 1, bandBps);
            return (true, low, high);
        }
        // A low-level call, so that a feed that reverts or answers garbage stops only its market.
        (bool success, bytes memory answerData) = m.feed.staticcall(
            abi.encodeCall(AggregatorV3Interface.latestRoundData, ())
        );
        if (!success || answerData.length < 160) return (false, 0, 0);
        (, int256 answer, , uint256 updatedAt, ) = abi.decode(answerData, (uint256, int256, uint256, uint256, uint256));
        if (answer <= 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > m.feedMaxAge) {
            return (false, 0, 0);
        }
        {
            // The answer is the price of one whole base unit in whole quote units, with the feed's
            // decimals; in ticks per lot that is answer * lotSize * 10^quoteDecimals /
            // (tickSize * 10^(feedDecimals + baseDecimals)), and the power of ten left after
            // cancelling is stored as feedScaleExponent on the side feedScaleUp says.
            uint256 scale = 10 ** m.feedScaleExponent;
            (uint256 num, uint256 den) = m.feedScaleUp
                ? (uint256(m.lotSize) * scale, uint256(m.tickSize))
                : (uint256(m.lotSize), uint256(m.tickSize) * scale);
            (low, high) = PriceBand.bounds(uint256(answer), num, den, bandBps);
            return (true, low, high);
        }
    }

    /// @notice Reverts unless `feeBps` is within the cap.
    function checkFee(uint16 feeBps) internal pure {
        if (feeBps > MAX_FEE_BPS) revert IExchange.FeeAboveCap(feeBps, MAX_FEE_BPS);
    }
}
