// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "./interfaces/IExchange.sol";
import {FillState} from "./libraries/FillState.sol";
import {MarketConfig} from "./libraries/MarketConfig.sol";
import {Vault} from "./libraries/Vault.sol";
import {WindowLimit} from "./libraries/WindowLimit.sol";
import {Account} from "./types/Account.sol";

/// @title The exchange's state, and the views that read it
/// @notice `Exchange` writes this state (settlement, trader actions, administration); this contract
/// declares it and answers every read of `IExchange`, so that `Exchange.sol` holds only what changes
/// it. Each library owns the layout of its part (see the comments on the mappings).
abstract contract ExchangeState is IExchange {
    using FillState for mapping(uint256 => FillState.Word);
    using FillState for FillState.Word;
    using MarketConfig for MarketConfig.Market;
    using Vault for Vault.State;
    using WindowLimit for WindowLimit.State;

    mapping(uint32 marketId => MarketConfig.Market) internal _markets;
    // One slot, read once by every settle call.
    uint32 internal _marketCount;
    address internal _feeRecipient;
    bool internal _paused;
    uint32 internal _firmnessDelay;
    mapping(address account => Account) internal _accounts;
    mapping(uint256 accountAndMarket => WindowLimit.State) internal _windowLimits; // WindowLimit.key
    mapping(uint256 makerAndNonceDiv4 => FillState.Word) internal _fillWords; // FillState.wordOf
    Vault.State internal _vault;

    /// @inheritdoc IExchange
    function market(
        uint32 marketId
    )
        external
        view
        returns (address base, address quote, uint128 lotSize, uint128 tickSize, uint16 makerFeeBps, uint16 takerFeeBps)
    {
        MarketConfig.Market storage m = _listedMarket(marketId);
        return (m.base, m.quote, m.lotSize, m.tickSize, m.makerFeeBps, m.takerFeeBps);
    }

    /// @inheritdoc IExchange
    function marketCount() external view returns (uint32) {
        return _marketCount;
    }

    /// @inheritdoc IExchange
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @inheritdoc IExchange
    function firmnessDelay() external view returns (uint32) {
        return _firmnessDelay;
    }

    /// @inheritdoc IExchange
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IExchange
    function riskLimits(
        uint32 marketId
    )
        external
        view
        returns (
            bool halted,
            uint16 bandBps,
            uint64 maxLotsPerBlock,
            address feed,
            uint32 feedMaxAgeSeconds,
            uint64 lastPriceTicks,
            uint64 lotsThisBlock
        )
    {
        MarketConfig.Market storage m = _listedMarket(marketId);
        lotsThisBlock = m.stateBlock == block.number ? m.lotsThisBlock : 0;
        return (m.halted, m.bandBps, m.maxLotsPerBlock, m.feed, m.feedMaxAge, m.lastPriceTicks, lotsThisBlock);
    }

    /// @inheritdoc IExchange
    function priceBounds(
        uint32 marketId
    ) external view returns (bool available, uint64 minPriceTicks, uint64 maxPriceTicks) {
        return _listedMarket(marketId).priceBounds();
    }

    /// @inheritdoc IExchange
    function balanceOf(address account, address token) external view returns (uint256) {
        return _vault.balances[account][token];
    }

    /// @inheritdoc IExchange
    function withdrawalRequest(address account, address token) external view returns (uint256, uint40) {
        return _vault.request(account, token);
    }

    /// @inheritdoc IExchange
    function filled(address maker, uint64 nonce) external view returns (uint64) {
        return _fillWords.wordOf(maker, nonce).filledView(nonce, block.timestamp);
    }

    /// @inheritdoc IExchange
    function pendingCancel(address maker, uint64 nonce) external view returns (uint40) {
        return _fillWords.wordOf(maker, nonce).pendingCancel(nonce, block.timestamp);
    }

    /// @inheritdoc IExchange
    function minNonce(address maker) external view returns (uint64) {
        return _accounts[maker].minNonceAt(block.timestamp);
    }

    /// @inheritdoc IExchange
    function pendingMinNonce(address maker) external view returns (uint64, uint40) {
        (uint64 requested, uint32 effectiveAt) = _accounts[maker].requestedFloor();
        return block.timestamp < effectiveAt ? (requested, effectiveAt) : (0, 0);
    }

    /// @inheritdoc IExchange
    function cancelAfter(address account) external view returns (uint40) {
        return _accounts[account].cancelAfter();
    }

    /// @inheritdoc IExchange
    function windowLimit(
        address account,
        uint32 marketId
    )
        external
        view
        returns (
            uint48 maxLots,
            uint24 windowSeconds,
            uint32 windowStart,
            uint48 usedLots,
            uint48 pendingMaxLots,
            uint24 pendingWindowSeconds,
            uint32 pendingEffectiveAt
        )
    {
        WindowLimit.Fields memory f = _windowLimits[WindowLimit.key(account, marketId)].current();
        return (
            f.maxLots,
            f.windowSeconds,
            f.windowStart,
            f.usedLots,
            f.pendingMaxLots,
            f.pendingWindowSeconds,
            f.pendingEffectiveAt
        );
    }

    /// @dev The market, or a revert when none is listed under `marketId`.
    function _listedMarket(uint32 marketId) internal view returns (MarketConfig.Market storage m) {
        m = _markets[marketId];
        if (m.base == address(0)) revert MarketNotListed(marketId);
    }
}
