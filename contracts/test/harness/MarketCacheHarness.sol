// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../../interfaces/IExchange.sol";
import {MarketCache} from "../../libraries/MarketCache.sol";
import {MarketConfig} from "../../libraries/MarketConfig.sol";
import {Vault} from "../../libraries/Vault.sol";

/// @notice Exposes `MarketCache` over markets of its own storage (listed by `MarketConfig`, linked),
/// for its unit tests. Each function runs one call's worth of cache use: a cache lives in memory.
contract MarketCacheHarness {
    using MarketCache for MarketCache.Cache;
    using MarketConfig for MarketConfig.Market;

    mapping(uint32 => MarketConfig.Market) private _markets;
    Vault.State private _vault;
    uint32 private _count;

    function listMarket(
        address base,
        address quote,
        uint128 lotSize,
        uint128 tickSize,
        uint16 makerFee,
        uint16 takerFee
    ) external {
        uint32 id = ++_count;
        _markets[id].list(id, base, quote, lotSize, tickSize, makerFee, takerFee);
    }

    function setLimits(uint32 id, bool halted, uint16 bandBps, uint64 referencePrice, uint64 maxLotsPerBlock) external {
        MarketConfig.Market storage m = _markets[id];
        if (m.halted != halted) m.setHalted(id, halted);
        m.setPriceBand(id, bandBps, referencePrice);
        m.setVelocityLimit(id, maxLotsPerBlock);
    }

    function feesOf(address account, address token) external view returns (uint256) {
        return _vault.balances[account][token];
    }

    function market(uint32 id) external view returns (uint64 lastPriceTicks, uint64 stateBlock, uint64 lotsThisBlock) {
        MarketConfig.Market storage m = _markets[id];
        return (m.lastPriceTicks, m.stateBlock, m.lotsThisBlock);
    }

    /// @notice Loads each id of `ids` in turn (reverting like `settle` on an unknown or split market),
    /// and returns the cache as the last load left it.
    function load(uint32[] calldata ids) external returns (MarketCache.Cache memory cache) {
        cache = MarketCache.start(ids.length);
        for (uint256 i; i < ids.length; ++i) {
            if (cache.marketId != ids[i]) cache.load(_markets, _vault, address(this), ids[i], i);
        }
    }

    /// @notice Loads market `id`, then for each fill `(prices[i], lots[i])` checks the limits and,
    /// when they pass, records the trade with `fee`; flushes to `feeRecipient`. Returns each check.
    function trade(
        uint32 id,
        uint64[] calldata prices,
        uint64[] calldata lots,
        uint256 fee,
        address feeRecipient
    ) external returns (uint256[] memory reasons) {
        MarketCache.Cache memory cache = MarketCache.start(1);
        cache.load(_markets, _vault, feeRecipient, id, 0);
        reasons = new uint256[](prices.length);
        for (uint256 i; i < prices.length; ++i) {
            reasons[i] = cache.riskFlags == 0 ? 0 : cache.checkLimits(prices[i], lots[i]);
            if (reasons[i] != 0) continue;
            cache.feesAccrued += fee;
            if (cache.riskFlags != 0) cache.recordTrade(prices[i], lots[i]);
        }
        cache.flush(_markets, _vault, feeRecipient);
    }

    /// @notice Records a trade of `lots` at `price` after a snapshot, restores it, flushes: nothing moves.
    function tradeAndRestore(uint32 id, uint64 price, uint64 lots, uint256 fee) external {
        MarketCache.Cache memory cache = MarketCache.start(1);
        cache.load(_markets, _vault, address(this), id, 0);
        MarketCache.Snapshot memory saved = cache.snapshot();
        cache.feesAccrued += fee;
        cache.recordTrade(price, lots);
        cache.restore(saved);
        cache.flush(_markets, _vault, address(this));
    }

    function amounts(uint32 id, uint64 lots, uint64 price) external returns (uint256, uint256, uint256, uint256) {
        MarketCache.Cache memory cache = MarketCache.start(1);
        cache.load(_markets, _vault, address(this), id, 0);
        return cache.amounts(lots, price);
    }

    function legs(
        uint32 id,
        IExchange.Order calldata makerOrder,
        address taker,
        uint64 lots
    ) external returns (address, address, uint256, uint256, uint256) {
        MarketCache.Cache memory cache = MarketCache.start(1);
        cache.load(_markets, _vault, address(this), id, 0);
        return cache.legs(makerOrder, taker, lots);
    }
}
