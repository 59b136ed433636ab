// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ExchangeState} from "./ExchangeState.sol";
import {IExchange} from "./interfaces/IExchange.sol";
import {FillChecks} from "./libraries/FillChecks.sol";
import {FillState} from "./libraries/FillState.sol";
import {MarketCache} from "./libraries/MarketCache.sol";
import {MarketConfig} from "./libraries/MarketConfig.sol";
import {OrderCalldata} from "./libraries/OrderCalldata.sol";
import {OrderHashing} from "./libraries/OrderHashing.sol";
import {Signatures} from "./libraries/Signatures.sol";
import {TraderActions} from "./libraries/TraderActions.sol";
import {Vault} from "./libraries/Vault.sol";
import {WindowLimit} from "./libraries/WindowLimit.sol";
import {OrderStatus, OrderStatusLib} from "./types/OrderStatus.sol";

/// @title Crossbook exchange: vault balances and batch settlement of signed orders
/// @notice See `IExchange` for the behaviour of every function, event and error, and `ExchangeState`
/// for the state and its views.
contract Exchange is ExchangeState, AccessControl, EIP712, ReentrancyGuardTransient {
    using FillState for mapping(uint256 => FillState.Word);
    using FillState for FillState.Word;
    using MarketCache for MarketCache.Cache;
    using MarketConfig for MarketConfig.Market;
    using Vault for Vault.State;
    using WindowLimit for WindowLimit.State;

    /// @inheritdoc IExchange
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    /// @inheritdoc IExchange
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @inheritdoc IExchange
    uint16 public constant MAX_FEE_BPS = MarketConfig.MAX_FEE_BPS;
    /// @inheritdoc IExchange
    uint32 public constant LOOSEN_DELAY = WindowLimit.LOOSEN_DELAY;
    /// @inheritdoc IExchange
    uint256 public constant ERC1271_GAS_LIMIT = Signatures.ERC1271_GAS_LIMIT;
    /// @notice The firmness delay at deployment: long enough for a matched batch to land (about two
    /// Ethereum blocks, many on a rollup), short enough that a trader's hard cancel stays prompt.
    uint32 internal constant DEFAULT_FIRMNESS_DELAY = 30;
    /// @inheritdoc IExchange
    uint32 public constant MAX_FIRMNESS_DELAY = 300;
    /// @inheritdoc IExchange
    uint64 public constant MAX_ORDER_LOTS = FillState.MAX_LOTS;

    /// @dev Per-call working state of `settle`, in memory.
    struct Batch {
        address feeRecipient;
        OrderStatus[] status; // per order of the batch
        bool anyImmediateOrCancel; // whether some status has iocUsed
        // Within an abandoned fill-or-kill run: fills execute no more, but are still checked for keeper
        // mistakes, and counted as filled (taken back after the run) when they pass.
        bool abandoning;
        // The current fill and its two orders, copied from calldata once per fill: their fields are
        // read several times, and a memory read costs a fraction of a validated calldata read.
        Fill fill;
        Order makerOrder;
        Order takerOrder;
        uint256 makerWindow; // the current fill's accounts' window words, to store once it executes
        uint256 takerWindow;
    }

    constructor(address admin) EIP712("Crossbook", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _feeRecipient = admin;
        _firmnessDelay = DEFAULT_FIRMNESS_DELAY;
        emit FeeRecipientChanged(address(0), admin);
        emit FirmnessDelayChanged(0, DEFAULT_FIRMNESS_DELAY);
    }

    /// @inheritdoc IExchange
    function listMarket(
        address base,
        address quote,
        uint128 lotSize,
        uint128 tickSize,
        uint16 makerFeeBps,
        uint16 takerFeeBps
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint32 marketId) {
        marketId = ++_marketCount;
        _markets[marketId].list(marketId, base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps);
    }

    /// @inheritdoc IExchange
    function setFees(uint32 marketId, uint16 makerFeeBps, uint16 takerFeeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _listedMarket(marketId).setFees(marketId, makerFeeBps, takerFeeBps);
    }

    /// @inheritdoc IExchange
    function setFeeRecipient(address recipient) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (recipient == address(0)) revert ZeroFeeRecipient();
        address old = _feeRecipient;
        _feeRecipient = recipient;
        emit FeeRecipientChanged(old, recipient);
    }

    /// @inheritdoc IExchange
    function setFirmnessDelay(uint32 delaySeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (delaySeconds > MAX_FIRMNESS_DELAY) revert FirmnessDelayTooLong(delaySeconds, MAX_FIRMNESS_DELAY);
        uint32 old = _firmnessDelay;
        _firmnessDelay = delaySeconds;
        emit FirmnessDelayChanged(old, delaySeconds);
    }

    /// @inheritdoc IExchange
    function pause() external onlyRole(GUARDIAN_ROLE) {
        if (_paused) revert NoStateChange();
        _paused = true;
        emit PauseChanged(false, true);
    }

    /// @inheritdoc IExchange
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_paused) revert NoStateChange();
        _paused = false;
        emit PauseChanged(true, false);
    }

    /// @inheritdoc IExchange
    function haltMarket(uint32 marketId) external onlyRole(GUARDIAN_ROLE) {
        _listedMarket(marketId).setHalted(marketId, true);
    }

    /// @inheritdoc IExchange
    function resumeMarket(uint32 marketId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _listedMarket(marketId).setHalted(marketId, false);
    }

    /// @inheritdoc IExchange
    function setPriceBand(
        uint32 marketId,
        uint16 bandBps,
        uint64 referencePriceTicks
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _listedMarket(marketId).setPriceBand(marketId, bandBps, referencePriceTicks);
    }

    /// @inheritdoc IExchange
    function setPriceFeed(uint32 marketId, address feed, uint32 maxAgeSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _listedMarket(marketId).setPriceFeed(marketId, feed, maxAgeSeconds);
    }

    /// @inheritdoc IExchange
    function setVelocityLimit(uint32 marketId, uint64 maxLotsPerBlock) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _listedMarket(marketId).setVelocityLimit(marketId, maxLotsPerBlock);
    }

    /// @inheritdoc IExchange
    function deposit(address token, uint256 amount) external nonReentrant {
        if (_paused) revert EnforcedPause();
        TraderActions.deposit(_vault, token, amount);
    }

    /// @inheritdoc IExchange
    function requestWithdraw(address token, uint256 amount) external {
        TraderActions.requestWithdraw(_vault, token, amount, _inForceAt());
    }

    /// @inheritdoc IExchange
    function withdraw(address token, uint256 amount) external nonReentrant {
        TraderActions.withdraw(_vault, token, amount);
    }

    /// @inheritdoc IExchange
    function cancel(uint64[] calldata nonces) external {
        TraderActions.cancel(_fillWords, nonces, _inForceAt());
    }

    /// @inheritdoc IExchange
    function cancelUpTo(uint64 newMinNonce) external {
        TraderActions.cancelUpTo(_accounts, newMinNonce, _inForceAt());
    }

    /// @inheritdoc IExchange
    function setCancelAfter(uint40 deadline) external {
        TraderActions.setCancelAfter(_accounts, deadline, _inForceAt());
    }

    /// @inheritdoc IExchange
    function setWindowLimit(uint32 marketId, uint48 maxLots, uint24 windowSeconds) external {
        _listedMarket(marketId);
        WindowLimit.set(_windowLimits, _accounts, marketId, maxLots, windowSeconds, _firmnessDelay);
    }

    /// @inheritdoc IExchange
    function settle(
        Order[] calldata orders,
        bytes[] calldata signatures,
        Fill[] calldata fills
    ) external onlyRole(KEEPER_ROLE) {
        if (_paused) revert EnforcedPause();
        if (signatures.length != orders.length) revert SignatureCountMismatch(orders.length, signatures.length);
        Batch memory batch;
        batch.feeRecipient = _feeRecipient;
        batch.status = new OrderStatus[](orders.length);
        MarketCache.Cache memory cache = MarketCache.start(fills.length);
        Fill memory fill = batch.fill;
        for (uint256 i; i < fills.length;) {
            OrderCalldata.copyFill(fills[i], fill);
            FillChecks.checkIndices(fill, orders.length, i);
            OrderCalldata.copyOrder(orders[fill.takerIndex], batch.takerOrder);
            if (batch.takerOrder.flags & FillChecks.FILL_OR_KILL == 0) {
                uint256 reason = _settleFill(batch, cache, orders, signatures, i);
                if (reason == 0) _emitTraded(batch.makerOrder, batch.takerOrder, fill.lots);
                else emit FillSkipped(i, uint8(reason));
                ++i;
            } else {
                i = _settleFillOrKill(batch, cache, orders, signatures, fills, i);
            }
        }
        cache.flush(_markets, _vault, batch.feeRecipient);
        if (batch.anyImmediateOrCancel) _killImmediateOrCancel(batch, orders);
    }

    /// @inheritdoc IExchange
    function hashOrder(Order calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(OrderHashing.structHash(order));
    }

    /// @dev Settles the run of contiguous fills of one fill-or-kill taker, starting at `first`: all
    /// of them execute, or none does. Returns the index of the first fill after the run.
    function _settleFillOrKill(
        Batch memory batch,
        MarketCache.Cache memory cache,
        Order[] calldata orders,
        bytes[] calldata signatures,
        Fill[] calldata fills,
        uint256 first
    ) private returns (uint256 end) {
        uint256 takerIndex = batch.fill.takerIndex;
        if (batch.status[takerIndex].fokUsed()) revert FillOrKillNotContiguous(first, takerIndex);
        uint256 total;
        for (end = first; end < fills.length && fills[end].takerIndex == takerIndex; ++end) total += fills[end].lots;
        if (total != batch.takerOrder.lots) revert FillOrKillSizeMismatch(first, batch.takerOrder.lots, total);

        // Every fill of the run is in the taker's market: load it before taking the snapshot, so
        // that the snapshot is this market's state, not the previous market's or an empty one.
        if (cache.marketId != batch.takerOrder.marketId) {
            cache.load(_markets, _vault, batch.feeRecipient, batch.takerOrder.marketId, first);
        }
        MarketCache.Snapshot memory saved = cache.snapshot();
        uint256 failed = end;
        uint256 failReason;
        bool[] memory checked; // of an abandoned run: which fills were counted as filled
        for (uint256 i = first; i < end;) {
            uint256 reason = _settleFill(batch, cache, orders, signatures, i);
            if (batch.abandoning) {
                checked[i - first] = reason == 0;
            } else if (reason != 0) {
                // Nothing more executes. From this fill on (this one again), each fill is still checked
                // for keeper mistakes, as though the run's earlier fills that passed their checks had
                // executed, and counted as filled when it passes.
                (failed, failReason, checked, batch.abandoning) = (i, reason, new bool[](end - first), true);
                continue;
            }
            if (++i < end) {
                OrderCalldata.copyFill(fills[i], batch.fill);
                FillChecks.checkIndices(batch.fill, orders.length, i);
            }
        }
        // Marked once its fills have checked the taker (a first check records a fresh status).
        batch.status[takerIndex] = batch.status[takerIndex].withFokUsed();
        if (failed == end) {
            for (uint256 i = first; i < end; ++i) {
                OrderCalldata.copyFill(fills[i], batch.fill);
                OrderCalldata.copyOrder(orders[batch.fill.makerIndex], batch.makerOrder);
                _emitTraded(batch.makerOrder, batch.takerOrder, batch.fill.lots);
            }
            return end;
        }
        batch.abandoning = false;
        _abandonFillOrKill(batch, cache, orders, fills, first, failed, checked);
        cache.restore(saved);
        for (uint256 i = first; i < end; ++i) {
            emit FillSkipped(i, uint8(i == failed ? failReason : uint256(SkipReason.FillOrKillIncomplete)));
        }
    }

    /// @dev Undoes a fill-or-kill run, newest fill first: the fills before `failed` executed (funds,
    /// fill state, window use), the others were counted as filled where `checked` says so.
    function _abandonFillOrKill(
        Batch memory batch,
        MarketCache.Cache memory cache,
        Order[] calldata orders,
        Fill[] calldata fills,
        uint256 first,
        uint256 failed,
        bool[] memory checked
    ) private {
        Fill memory fill = batch.fill;
        Order memory makerOrder = batch.makerOrder;
        Order memory takerOrder = batch.takerOrder; // the run's taker
        for (uint256 i = first + checked.length; i > first;) {
            --i;
            if (i >= failed && !checked[i - first]) continue;
            OrderCalldata.copyFill(fills[i], fill);
            OrderCalldata.copyOrder(orders[fill.makerIndex], makerOrder);
            _fillWords.wordOf(makerOrder.maker, makerOrder.nonce).subFilled(makerOrder.nonce, fill.lots);
            _fillWords.wordOf(takerOrder.maker, takerOrder.nonce).subFilled(takerOrder.nonce, fill.lots);
            if (i >= failed) continue;
            (address buyer, address seller, uint256 baseAtoms, uint256 buyerPays, uint256 sellerGets) = cache.legs(
                makerOrder,
                takerOrder.maker,
                fill.lots
            );
            _vault.unswap(cache.base, cache.quote, buyer, seller, baseAtoms, buyerPays, sellerGets);
            uint32 marketId = uint32(cache.marketId);
            if (batch.status[fill.makerIndex].hasWindow()) {
                _windowLimits[WindowLimit.key(makerOrder.maker, marketId)].giveBack(fill.lots);
            }
            if (batch.status[fill.takerIndex].hasWindow()) {
                _windowLimits[WindowLimit.key(takerOrder.maker, marketId)].giveBack(fill.lots);
            }
        }
    }

    /// @dev Settles the fill in `batch.fill` (its taker order already in `batch.takerOrder`, its maker
    /// order copied into `batch.makerOrder`): 0 when it executed (or, `abandoning`, was counted), else
    /// the `SkipReason` that stops it; reverts on keeper mistakes.
    function _settleFill(
        Batch memory batch,
        MarketCache.Cache memory cache,
        Order[] calldata orders,
        bytes[] calldata signatures,
        uint256 fillIndex
    ) private returns (uint256) {
        Fill memory fill = batch.fill;
        Order memory makerOrder = batch.makerOrder;
        Order memory takerOrder = batch.takerOrder;
        OrderCalldata.copyOrder(orders[fill.makerIndex], makerOrder);
        FillChecks.checkPair(makerOrder, takerOrder, fill, fillIndex);
        if (cache.marketId != makerOrder.marketId) {
            cache.load(_markets, _vault, batch.feeRecipient, makerOrder.marketId, fillIndex);
        }
        // Both orders are checked (signature first, at an order's first use) before any skip is decided.
        OrderStatus makerStatus = batch.status[fill.makerIndex];
        if (!makerStatus.isChecked()) {
            makerStatus = _checkOrder(batch, makerOrder, orders, signatures, fill.makerIndex, fillIndex);
        }
        OrderStatus takerStatus = batch.status[fill.takerIndex];
        if (!takerStatus.isChecked()) {
            takerStatus = _checkOrder(batch, takerOrder, orders, signatures, fill.takerIndex, fillIndex);
        }
        if (!makerStatus.isValid()) return makerStatus.skipReason();
        if (!takerStatus.isValid()) return takerStatus.skipReason() + 1;
        return _executeFill(batch, cache, fillIndex, makerStatus.hasWindow(), takerStatus.hasWindow());
    }

    /// @dev Checks an order at its first use in this call — its size, then its signature, then its
    /// expiry and its account's nonce floor and cancel-after deadline as they stand now — and records
    /// its status. An immediate-or-cancel order whose signature is accepted is marked used, to be
    /// killed after the call.
    function _checkOrder(
        Batch memory batch,
        Order memory order,
        Order[] calldata orders,
        bytes[] calldata signatures,
        uint256 orderIndex,
        uint256 fillIndex
    ) private view returns (OrderStatus status) {
        if (order.lots > MAX_ORDER_LOTS) revert OrderTooLarge(fillIndex, orderIndex, order.lots);
        bytes calldata signature = signatures[orderIndex];
        bytes32 digest = _hashTypedDataV4(OrderHashing.structHash(orders[orderIndex]));
        address signer = Signatures.recover(digest, signature);
        if (
            (signer == address(0) || signer != order.maker) &&
            !Signatures.walletAuthorises(order.maker, digest, signature, orderIndex, fillIndex)
        ) {
            status = OrderStatusLib.rejected();
        } else {
            status = _accounts[order.maker].statusOf(order, block.timestamp);
            if (order.flags & FillChecks.IMMEDIATE_OR_CANCEL != 0) {
                status = status.withIocUsed();
                batch.anyImmediateOrCancel = true;
            }
        }
        batch.status[orderIndex] = status;
    }

    /// @dev Executes the current fill, both of whose orders are valid, or returns what stops it:
    /// fill state, self-trade, fees, market and window limits, funds; writes nothing unless it
    /// executes. In an abandoned fill-or-kill run it only checks sizes and counts the lots as filled.
    function _executeFill(
        Batch memory batch,
        MarketCache.Cache memory cache,
        uint256 fillIndex,
        bool makerWindow,
        bool takerWindow
    ) private returns (uint256 skipReason) {
        Order memory makerOrder = batch.makerOrder;
        Order memory takerOrder = batch.takerOrder;
        uint64 lots = batch.fill.lots;
        FillState.Word storage makerWord;
        FillState.Word storage takerWord;
        uint256 makerLanes;
        uint256 takerLanes;
        (skipReason, makerWord, takerWord, makerLanes, takerLanes) = _fillWords.checkSizes(
            makerOrder,
            takerOrder,
            batch.fill,
            fillIndex,
            block.timestamp
        );
        if (skipReason != 0) return skipReason;
        if (batch.abandoning) {
            // Counted only; maker and taker may be one account, even one word: each write reads anew.
            makerWord.addFilled(makerOrder.nonce, lots);
            takerWord.addFilled(takerOrder.nonce, lots);
            return 0;
        }
        if (makerOrder.maker == takerOrder.maker) return uint256(SkipReason.SelfTrade);
        if (cache.makerFeeBps > makerOrder.maxFeeBps) return uint256(SkipReason.MakerFeeTooHigh);
        if (cache.takerFeeBps > takerOrder.maxFeeBps) return uint256(SkipReason.TakerFeeTooHigh);
        if (cache.riskFlags != 0) {
            skipReason = cache.checkLimits(makerOrder.priceTicks, lots);
            if (skipReason != 0) return skipReason;
        }
        if (makerWindow || takerWindow) {
            skipReason = _checkWindowLimits(batch, uint32(cache.marketId), makerWindow, takerWindow);
            if (skipReason != 0) return skipReason;
        }
        (address buyer, address seller, uint256 baseAtoms, uint256 buyerPays, uint256 sellerGets) = cache.legs(
            makerOrder,
            takerOrder.maker,
            lots
        );
        Vault.Shortfall short = _vault.swap(cache.base, cache.quote, buyer, seller, baseAtoms, buyerPays, sellerGets);
        if (short != Vault.Shortfall.None) {
            bool makerShort = (short == Vault.Shortfall.Buyer) == makerOrder.isBuy;
            return uint256(makerShort ? SkipReason.MakerBalanceTooLow : SkipReason.TakerBalanceTooLow);
        }
        // sellerGets <= buyerPays (`MarketCache.legs`); the fees were paid out of a balance, which tokens back.
        unchecked {
            cache.feesAccrued += buyerPays - sellerGets;
        }
        if (cache.riskFlags != 0) cache.recordTrade(makerOrder.priceTicks, lots);
        uint32 marketId = uint32(cache.marketId);
        if (makerWindow) _windowLimits[WindowLimit.key(makerOrder.maker, marketId)].word = batch.makerWindow;
        if (takerWindow) _windowLimits[WindowLimit.key(takerOrder.maker, marketId)].word = batch.takerWindow;
        // Both counts stay within their orders (checked above), and the maker and taker are different
        // accounts (a self-trade skips first): two words, as read.
        makerWord.lanes = FillState.withAdded(makerLanes, makerOrder.nonce, lots);
        takerWord.lanes = FillState.withAdded(takerLanes, takerOrder.nonce, lots);
    }

    /// @dev The accounts' own window limits in the market: 0 or the `SkipReason`, and each limited
    /// account's window word (in `batch`) to store if the fill executes.
    function _checkWindowLimits(
        Batch memory batch,
        uint32 marketId,
        bool makerWindow,
        bool takerWindow
    ) private view returns (uint256) {
        bool allowed;
        uint64 lots = batch.fill.lots;
        if (makerWindow) {
            uint256 word = _windowLimits[WindowLimit.key(batch.makerOrder.maker, marketId)].word;
            (allowed, batch.makerWindow) = WindowLimit.take(word, block.timestamp, lots);
            if (!allowed) return uint256(SkipReason.MakerWindowLimitReached);
        }
        if (takerWindow) {
            uint256 word = _windowLimits[WindowLimit.key(batch.takerOrder.maker, marketId)].word;
            (allowed, batch.takerWindow) = WindowLimit.take(word, block.timestamp, lots);
            if (!allowed) return uint256(SkipReason.TakerWindowLimitReached);
        }
        return 0;
    }

    /// @dev An immediate-or-cancel order used in this call can never fill again.
    function _killImmediateOrCancel(Batch memory batch, Order[] calldata orders) private {
        for (uint256 i; i < orders.length; ++i) {
            if (!batch.status[i].iocUsed()) continue;
            (address maker, uint64 nonce) = (orders[i].maker, orders[i].nonce);
            if (_fillWords.wordOf(maker, nonce).kill(nonce)) emit OrderCancelled(maker, nonce, uint40(block.timestamp));
        }
    }

    function _emitTraded(Order memory makerOrder, Order memory takerOrder, uint64 lots) private {
        emit Traded(
            makerOrder.marketId,
            bytes32((uint256(uint160(makerOrder.maker)) << 96) | (uint256(makerOrder.nonce) << 32)),
            bytes32((uint256(uint160(takerOrder.maker)) << 96) | (uint256(takerOrder.nonce) << 32)),
            makerOrder.isBuy,
            makerOrder.priceTicks,
            lots
        );
    }

    /// @dev When a trader action asked for now takes effect.
    function _inForceAt() private view returns (uint256) {
        return block.timestamp + _firmnessDelay;
    }
}
