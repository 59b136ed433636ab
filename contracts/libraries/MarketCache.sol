// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";
import {FillMath} from "./FillMath.sol";
import {MarketConfig} from "./MarketConfig.sol";
import {Vault} from "./Vault.sol";

/// @title The markets of one `settle` call, in memory
/// @notice A keeper keeps each market's fills contiguous, so `settle` loads a market once (its
/// parameters, and its limits as they stand before the call), checks and counts its fills in memory,
/// and writes back once: the fee recipient's fees, and the last price and lots per block it tracks.
library MarketCache {
    using MarketConfig for MarketConfig.Market;
    using Vault for Vault.State;

    /// @dev The id of the cache before its first market: above every uint32 id, so that no id a
    /// signed order can carry reads as loaded.
    uint256 private constant NO_MARKET = 1 << 32;
    /// @dev Gas left before a feed call that guarantees the feed its whole allowance: the allowance,
    /// the 1/64 the EVM keeps back, and 10,000 for the cold call and its memory.
    uint256 internal constant FEED_CHECK_MIN_GAS = (MarketConfig.FEED_GAS_LIMIT * 64) / 63 + 10_000;

    // riskFlags: what the per-fill market checks must look at.
    uint256 private constant HALTED = 1;
    uint256 private constant NO_REFERENCE = 1 << 1;
    uint256 private constant BAND = 1 << 2;
    uint256 private constant VELOCITY = 1 << 3;
    uint256 private constant TRACKED = 1 << 4; // the last price and lots per block are kept up to date
    uint256 private constant STATE_CHANGED = 1 << 5; // ... and must be written back

    struct Cache {
        uint256 marketId; // the market whose fields follow; NO_MARKET before the first
        address base;
        address quote;
        uint256 lotSize;
        uint256 tickSize;
        uint256 makerFeeBps;
        uint256 takerFeeBps;
        uint256 feesAccrued; // quote atoms owed to the fee recipient, not yet written
        uint256 riskFlags; // 0 on the common path: no limit to check
        uint64 minPriceTicks; // the band, with BAND
        uint64 maxPriceTicks;
        uint64 maxLotsPerBlock; // with VELOCITY
        uint64 lotsThisBlock; // with TRACKED, as of this point of the call
        uint64 lastPriceTicks; // with TRACKED, as of this point of the call
        uint32[] visited; // the markets loaded so far: each is loaded once
        uint256 visitedCount;
    }

    /// @notice What a fill-or-kill run may change of the cache, to put back if the run is abandoned.
    struct Snapshot {
        uint256 feesAccrued;
        uint64 lotsThisBlock;
        uint64 lastPriceTicks;
        uint256 riskFlags;
    }

    /// @notice An empty cache for a call of `fillCount` fills.
    function start(uint256 fillCount) internal pure returns (Cache memory cache) {
        cache.marketId = NO_MARKET;
        cache.visited = new uint32[](fillCount);
    }

    /// @notice Makes `marketId` (not the cached market: the caller checks) the cached market, writing
    /// back the previous one first. Reverts `UnknownMarket` for an id not listed,
    /// `MarketNotContiguous` for one loaded before.
    function load(
        Cache memory cache,
        mapping(uint32 => MarketConfig.Market) storage markets,
        Vault.State storage vault,
        address feeRecipient,
        uint32 marketId,
        uint256 fillIndex
    ) internal {
        flush(cache, markets, vault, feeRecipient);
        uint256 visited = cache.visitedCount;
        for (uint256 i; i < visited; ++i) {
            if (cache.visited[i] == marketId) revert IExchange.MarketNotContiguous(fillIndex, marketId);
        }
        cache.visited[visited] = marketId; // at most one new market per fill
        cache.visitedCount = visited + 1;

        MarketConfig.Market storage m = markets[marketId];
        address base = m.base;
        if (base == address(0)) revert IExchange.UnknownMarket(fillIndex, marketId);
        cache.marketId = marketId;
        (cache.base, cache.lotSize, cache.quote, cache.tickSize) = (base, m.lotSize, m.quote, m.tickSize);
        (cache.makerFeeBps, cache.takerFeeBps) = (m.makerFeeBps, m.takerFeeBps);
        uint256 flags = m.halted ? HALTED : 0;
        uint16 bandBps = m.bandBps;
        uint64 maxLotsPerBlock = m.maxLotsPerBlock;
        if (bandBps != 0 || maxLotsPerBlock != 0) {
            flags |= TRACKED;
            cache.lastPriceTicks = m.lastPriceTicks;
            cache.lotsThisBlock = m.stateBlock == block.number ? m.lotsThisBlock : 0;
            if (maxLotsPerBlock != 0) {
                flags |= VELOCITY;
                cache.maxLotsPerBlock = maxLotsPerBlock;
            }
            if (bandBps != 0) {
                // The feed must get its whole allowance, or a keeper could starve it into a skip.
                if (m.hasFeed && gasleft() < FEED_CHECK_MIN_GAS) {
                    revert IExchange.InsufficientGasForPriceFeed(fillIndex, marketId);
                }
                (bool available, uint64 low, uint64 high) = m.bandBounds(bandBps);
                flags |= available ? BAND : BAND | NO_REFERENCE;
                (cache.minPriceTicks, cache.maxPriceTicks) = (low, high);
            }
        }
        cache.riskFlags = flags;
    }

    /// @notice Writes back what the call changed of the cached market: the fee recipient's fees, and
    /// the tracked last price and lots per block.
    function flush(
        Cache memory cache,
        mapping(uint32 => MarketConfig.Market) storage markets,
        Vault.State storage vault,
        address feeRecipient
    ) internal {
        if (cache.feesAccrued != 0) {
            vault.credit(feeRecipient, cache.quote, cache.feesAccrued);
            cache.feesAccrued = 0;
        }
        if (cache.riskFlags & STATE_CHANGED != 0) {
            MarketConfig.Market storage m = markets[uint32(cache.marketId)];
            (m.lastPriceTicks, m.stateBlock, m.lotsThisBlock) = (
                cache.lastPriceTicks,
                uint64(block.number),
                cache.lotsThisBlock
            );
        }
    }

    /// @notice The market's limits for a fill of `lots` at `priceTicks`: 0, or the `SkipReason`.
    /// Only needed while `riskFlags` is not 0.
    function checkLimits(Cache memory cache, uint64 priceTicks, uint64 lots) internal pure returns (uint256) {
        uint256 flags = cache.riskFlags;
        if (flags & HALTED != 0) return uint256(IExchange.SkipReason.MarketHalted);
        if (flags & NO_REFERENCE != 0) return uint256(IExchange.SkipReason.ReferencePriceUnavailable);
        if (flags & BAND != 0 && (priceTicks < cache.minPriceTicks || priceTicks > cache.maxPriceTicks)) {
            return uint256(IExchange.SkipReason.PriceOutsideBand);
        }
        if (flags & VELOCITY != 0 && uint256(cache.lotsThisBlock) + lots > cache.maxLotsPerBlock) {
            return uint256(IExchange.SkipReason.VelocityLimitReached);
        }
        return 0;
    }

    /// @notice Counts an executed fill of `lots` at `priceTicks` against the market's tracked last
    /// price and lots per block. Only needed while `riskFlags` is not 0.
    function recordTrade(Cache memory cache, uint64 priceTicks, uint64 lots) internal pure {
        uint256 flags = cache.riskFlags;
        if (flags & TRACKED == 0) return;
        // With a velocity limit, lotsThisBlock + lots <= maxLotsPerBlock (checkLimits), so the sum
        // fits in 64 bits; without one, lots per block are not counted.
        if (flags & VELOCITY != 0) {
            unchecked {
                cache.lotsThisBlock += lots;
            }
        }
        cache.lastPriceTicks = priceTicks;
        cache.riskFlags = flags | STATE_CHANGED;
    }

    /// @notice Base atoms, quote atoms and both fees of `lots` at `priceTicks` in the cached market.
    /// @dev Fees are credited to the fee recipient by adding them to `feesAccrued`.
    function amounts(
        Cache memory cache,
        uint64 lots,
        uint64 priceTicks
    ) internal pure returns (uint256 baseAtoms, uint256 quoteAtoms, uint256 makerFee, uint256 takerFee) {
        baseAtoms = FillMath.baseAmount(lots, cache.lotSize);
        quoteAtoms = FillMath.quoteAmount(lots, priceTicks, cache.tickSize);
        makerFee = FillMath.fee(quoteAtoms, cache.makerFeeBps);
        takerFee = FillMath.fee(quoteAtoms, cache.takerFeeBps);
    }

    /// @notice Who buys and who sells a fill of `lots` at the maker's price, and what moves: the
    /// seller's base, what the buyer pays (quote and its fee) and what the seller gets (quote less its
    /// fee; a fee is at most 1% of the quote, so this cannot underflow).
    function legs(
        Cache memory cache,
        IExchange.Order memory makerOrder,
        address taker,
        uint64 lots
    ) internal pure returns (address buyer, address seller, uint256 baseAtoms, uint256 buyerPays, uint256 sellerGets) {
        uint256 quoteAtoms;
        uint256 makerFee;
        uint256 takerFee;
        (baseAtoms, quoteAtoms, makerFee, takerFee) = amounts(cache, lots, makerOrder.priceTicks);
        // quoteAtoms < 2^224 and each fee is at most 1% of it (FillMath, MAX_FEE_BPS).
        unchecked {
            if (makerOrder.isBuy) {
                return (makerOrder.maker, taker, baseAtoms, quoteAtoms + makerFee, quoteAtoms - takerFee);
            }
            return (taker, makerOrder.maker, baseAtoms, quoteAtoms + takerFee, quoteAtoms - makerFee);
        }
    }

    function snapshot(Cache memory cache) internal pure returns (Snapshot memory) {
        return Snapshot(cache.feesAccrued, cache.lotsThisBlock, cache.lastPriceTicks, cache.riskFlags);
    }

    function restore(Cache memory cache, Snapshot memory saved) internal pure {
        cache.feesAccrued = saved.feesAccrued;
        (cache.lotsThisBlock, cache.lastPriceTicks, cache.riskFlags) = (
            saved.lotsThisBlock,
            saved.lastPriceTicks,
            saved.riskFlags
        );
    }
}
