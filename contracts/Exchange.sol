// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IExchange} from "./interfaces/IExchange.sol";
import {FillMath} from "./libraries/FillMath.sol";
import {FillState} from "./libraries/FillState.sol";
import {MarketConfig} from "./libraries/MarketConfig.sol";
import {OrderHashing} from "./libraries/OrderHashing.sol";
import {WindowLimit} from "./libraries/WindowLimit.sol";

/// @title Crossbook exchange: vault balances and batch settlement of signed orders
/// @notice See `IExchange` for the behaviour of every function, event and error.
contract Exchange is IExchange, AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using FillState for mapping(uint256 => FillState.Word);
    using FillState for FillState.Word;
    using WindowLimit for WindowLimit.State;
    using MarketConfig for MarketConfig.Market;

    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @notice No market fee can be set above 1%.
    uint16 public constant MAX_FEE_BPS = MarketConfig.MAX_FEE_BPS;
    /// @notice How long a loosening of an account's window limit waits before it applies.
    uint32 public constant LOOSEN_DELAY = WindowLimit.LOOSEN_DELAY;

    /// @notice Gas given to an ERC-1271 wallet's `isValidSignature`, so that no wallet can eat a batch's gas.
    uint256 public constant ERC1271_GAS_LIMIT = 100_000;
    /// @dev Gas left before a wallet check that guarantees the wallet its whole allowance: the
    /// allowance plus the 1/64 the EVM keeps back, and 10,000 for the cold call and its memory.
    uint256 private constant WALLET_CHECK_MIN_GAS = (ERC1271_GAS_LIMIT * 64) / 63 + 10_000;

    /// @dev An id no market ever gets (ids count up from 1 and stop below it): the empty market cache.
    uint32 private constant NO_MARKET = type(uint32).max;

    uint8 internal constant POST_ONLY = 1;
    uint8 internal constant IMMEDIATE_OR_CANCEL = 2;
    uint8 internal constant FILL_OR_KILL = 4;
    uint8 internal constant KNOWN_FLAGS = POST_ONLY | IMMEDIATE_OR_CANCEL | FILL_OR_KILL;

    /// @dev What a fill reads of an account, in one slot.
    struct Account {
        uint64 minNonce;
        uint40 cancelAfter; // 0: off
        uint32 windowLimitCount; // markets with a window limit (or a pending one): 0 skips their lookup
    }

    /// @dev Per-call working state of `settle`, in memory.
    struct Batch {
        address feeRecipient;
        uint32 marketId; // the market whose fields are cached below; NO_MARKET before the first fill
        address base;
        address quote;
        uint256 lotSize;
        uint256 tickSize;
        uint256 makerFeeBps;
        uint256 takerFeeBps;
        uint256 feesAccrued; // quote atoms owed to the fee recipient for `marketId`, not yet written
        uint256 riskFlags; // RISK_* bits of the cached market; 0 on the common path
        uint64 minPriceTicks; // the band, when RISK_BAND
        uint64 maxPriceTicks;
        uint64 maxLotsPerBlock; // when RISK_VELOCITY
        uint64 lotsThisBlock; // when RISK_TRACKED, as of this point of the call
        uint64 lastPriceTicks; // when RISK_TRACKED, as of this point of the call
        uint256 makerWindow; // the current fill's accounts' window words, to store once it executes
        uint256 takerWindow;
        uint32[] visitedMarkets; // each market's fills must be contiguous: a market is loaded once
        uint256 visitedCount;
        uint256[] orderStatus; // per order: STATUS_* bits and, once checked, its validity code
        bool anyImmediateOrCancel; // whether some orderStatus has STATUS_IOC_USED
        // The current fill's two orders, copied from calldata once per fill: their fields are read
        // several times, and a memory read costs a fraction of a validated calldata read.
        Order makerOrder;
        Order takerOrder;
        Fill fill; // the current fill (outside fill-or-kill runs), copied from calldata
    }

    // orderStatus layout: the low byte is 0 (not yet checked), VALID, or the maker-side SkipReason;
    // the flags above it record what the call has done with the order.
    uint256 private constant STATUS_CODE_MASK = 0xff;

    // _settleFill modes.
    uint256 private constant EXECUTE_AND_EMIT = 0;
    uint256 private constant EXECUTE = 1;
    uint256 private constant CHECK_ONLY = 2;
    uint256 private constant VALID = 0xff;
    uint256 private constant STATUS_IOC_USED = 1 << 8;
    uint256 private constant STATUS_HAS_WINDOW = 1 << 10; // the maker has window limits somewhere
    // Above bit 11: `_settleFill` passes `makerStatus | takerStatus << 1` and keeps bits 10 and 11.
    uint256 private constant STATUS_FOK_USED = 1 << 12;

    // riskFlags: what the per-fill market checks must look at.
    uint256 private constant RISK_HALTED = 1;
    uint256 private constant RISK_NO_REFERENCE = 1 << 1;
    uint256 private constant RISK_BAND = 1 << 2;
    uint256 private constant RISK_VELOCITY = 1 << 3;
    uint256 private constant RISK_TRACKED = 1 << 4; // slot 3 is kept up to date
    uint256 private constant RISK_STATE_CHANGED = 1 << 5; // slot 3 must be written back

    mapping(uint32 marketId => MarketConfig.Market) private _markets;
    // One slot, read once by every settle call.
    uint32 private _marketCount;
    address private _feeRecipient;
    bool private _paused;
    mapping(address account => Account) private _accounts;
    mapping(uint256 accountAndMarket => WindowLimit.State) private _windowLimits; // WindowLimit.key
    mapping(uint256 makerAndNonceDiv4 => FillState.Word) private _fillWords; // FillState.wordOf
    mapping(address account => mapping(address token => uint256)) private _balances;

    constructor(address admin) EIP712("Crossbook", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _feeRecipient = admin;
        emit FeeRecipientChanged(address(0), admin);
    }

    // ─── Markets and fees ───────────────────────────────────────────────────────────────────

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
        if (marketId == NO_MARKET) revert MarketNotListed(marketId); // never reached: 2^32 - 1 listings
        _markets[marketId].list(marketId, base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps);
    }

    /// @inheritdoc IExchange
    function setFees(uint32 marketId, uint16 makerFeeBps, uint16 takerFeeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        MarketConfig.Market storage m = _listedMarket(marketId);
        MarketConfig.checkFee(makerFeeBps);
        MarketConfig.checkFee(takerFeeBps);
        emit FeesChanged(marketId, m.makerFeeBps, m.takerFeeBps, makerFeeBps, takerFeeBps);
        m.makerFeeBps = makerFeeBps;
        m.takerFeeBps = takerFeeBps;
    }

    /// @inheritdoc IExchange
    function setFeeRecipient(address recipient) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (recipient == address(0)) revert ZeroFeeRecipient();
        emit FeeRecipientChanged(_feeRecipient, recipient);
        _feeRecipient = recipient;
    }

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

    // ─── Risk limits: guardian and admin ────────────────────────────────────────────────────

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
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IExchange
    function haltMarket(uint32 marketId) external onlyRole(GUARDIAN_ROLE) {
        _setHalted(marketId, true);
    }

    /// @inheritdoc IExchange
    function resumeMarket(uint32 marketId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setHalted(marketId, false);
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
        MarketConfig.Market storage m = _listedMarket(marketId);
        emit VelocityLimitChanged(marketId, m.maxLotsPerBlock, maxLotsPerBlock);
        m.maxLotsPerBlock = maxLotsPerBlock;
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
        MarketConfig.Market storage m = _listedMarket(marketId);
        if (m.bandBps == 0) return (true, 0, type(uint64).max);
        return m.bandBounds(m.bandBps);
    }

    // ─── Risk limits: an account's own ──────────────────────────────────────────────────────

    /// @inheritdoc IExchange
    function setCancelAfter(uint40 deadline) external {
        Account storage account = _accounts[msg.sender];
        emit CancelAfterChanged(msg.sender, account.cancelAfter, deadline);
        account.cancelAfter = deadline;
    }

    /// @inheritdoc IExchange
    function setWindowLimit(uint32 marketId, uint48 maxLots, uint24 windowSeconds) external {
        _listedMarket(marketId);
        (bool hadLimit, bool hasLimit) = _windowLimits[WindowLimit.key(msg.sender, marketId)].set(
            msg.sender,
            marketId,
            maxLots,
            windowSeconds
        );
        Account storage account = _accounts[msg.sender];
        if (hasLimit && !hadLimit) ++account.windowLimitCount;
        else if (hadLimit && !hasLimit) --account.windowLimitCount;
    }

    /// @inheritdoc IExchange
    function cancelAfter(address account) external view returns (uint40) {
        return _accounts[account].cancelAfter;
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
        uint256 word = _windowLimits[WindowLimit.key(account, marketId)].word;
        WindowLimit.Fields memory f = WindowLimit.unpack(WindowLimit.asOf(word, block.timestamp));
        if (f.usedLots == 0) f.windowStart = 0; // nothing filled in it: no window is open
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

    // ─── Balances ───────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IExchange
    function deposit(address token, uint256 amount) external nonReentrant {
        if (_paused) revert EnforcedPause();
        if (amount == 0) revert ZeroAmount();
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), amount);
        // Credit what arrived, not what was asked: fee-on-transfer tokens deliver less.
        uint256 received = erc20.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        _balances[msg.sender][token] += received;
        emit Deposited(msg.sender, token, received);
    }

    /// @inheritdoc IExchange
    function withdraw(address token, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = _balances[msg.sender][token];
        if (amount > available) revert InsufficientBalance(token, available, amount);
        unchecked {
            _balances[msg.sender][token] = available - amount; // amount <= available, checked above
        }
        emit Withdrawn(msg.sender, token, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IExchange
    function balanceOf(address account, address token) external view returns (uint256) {
        return _balances[account][token];
    }

    // ─── Cancellation ───────────────────────────────────────────────────────────────────────

    /// @inheritdoc IExchange
    function cancel(uint64[] calldata nonces) external {
        if (nonces.length == 0) revert NothingToCancel();
        for (uint256 i; i < nonces.length; ++i) {
            _fillWords.wordOf(msg.sender, nonces[i]).write(nonces[i], FillState.CANCELLED);
            emit OrderCancelled(msg.sender, nonces[i]);
        }
    }

    /// @inheritdoc IExchange
    function cancelUpTo(uint64 newMinNonce) external {
        Account storage account = _accounts[msg.sender];
        uint64 current = account.minNonce;
        if (newMinNonce <= current) revert NonceFloorNotRaised(current, newMinNonce);
        account.minNonce = newMinNonce;
        emit NonceFloorRaised(msg.sender, current, newMinNonce);
    }

    /// @inheritdoc IExchange
    function filled(address maker, uint64 nonce) external view returns (uint64) {
        return _fillWords.wordOf(maker, nonce).read(nonce);
    }

    /// @inheritdoc IExchange
    function minNonce(address maker) external view returns (uint64) {
        return _accounts[maker].minNonce;
    }

    /// @inheritdoc IExchange
    function hashOrder(Order calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(OrderHashing.structHash(order));
    }

    // ─── Settlement ─────────────────────────────────────────────────────────────────────────

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
        batch.marketId = NO_MARKET;
        batch.orderStatus = new uint256[](orders.length);
        batch.visitedMarkets = new uint32[](fills.length);

        uint256 fillCount = fills.length;
        Fill memory fill = batch.fill;
        for (uint256 i; i < fillCount;) {
            _copyFill(fills[i], fill);
            _checkIndices(fill, orders.length, i);
            _copyOrder(orders[fill.takerIndex], batch.takerOrder);
            if (batch.takerOrder.flags & FILL_OR_KILL == 0) {
                uint256 reason = _settleFill(batch, orders, signatures, fill, i, EXECUTE_AND_EMIT);
                if (reason != 0) emit FillSkipped(i, uint8(reason));
                ++i;
            } else {
                i = _settleFillOrKill(batch, orders, signatures, fills, i);
            }
        }
        _flushMarket(batch);
        if (batch.anyImmediateOrCancel) _killImmediateOrCancel(batch, orders);
    }

    /// @dev Settles the run of contiguous fills of one fill-or-kill taker, starting at `first`: all
    /// of them execute, or none does. Returns the index of the first fill after the run.
    function _settleFillOrKill(
        Batch memory batch,
        Order[] calldata orders,
        bytes[] calldata signatures,
        Fill[] calldata fills,
        uint256 first
    ) private returns (uint256 end) {
        uint256 takerIndex = fills[first].takerIndex;
        if (batch.orderStatus[takerIndex] & STATUS_FOK_USED != 0) revert FillOrKillNotContiguous(first, takerIndex);
        batch.orderStatus[takerIndex] |= STATUS_FOK_USED;

        uint256 total;
        for (end = first; end < fills.length && fills[end].takerIndex == takerIndex; ++end) {
            total += fills[end].lots;
        }
        uint64 orderLots = batch.takerOrder.lots;
        if (total != orderLots) revert FillOrKillSizeMismatch(first, orderLots, total);

        // Every fill of the run is in the taker's market: load it before taking the snapshot, so
        // that the snapshot is this market's state, not the previous market's or an empty one.
        _loadMarket(batch, batch.takerOrder.marketId, first);
        // What the run changes of the market's tracked state, to put back if it is abandoned.
        uint64 lotsThisBlock = batch.lotsThisBlock;
        uint64 lastPriceTicks = batch.lastPriceTicks;
        uint256 riskFlags = batch.riskFlags;
        // After a skipped fill the rest of the run is still checked for keeper mistakes (and its
        // IOC orders still die), but nothing more executes.
        uint256 failed = end;
        uint256 failReason;
        for (uint256 i = first; i < end; ++i) {
            Fill memory fill = fills[i];
            if (i != first) _checkIndices(fill, orders.length, i);
            uint256 reason = _settleFill(batch, orders, signatures, fill, i, failed == end ? EXECUTE : CHECK_ONLY);
            if (reason != 0 && failed == end) (failed, failReason) = (i, reason);
        }
        if (failed == end) {
            for (uint256 i = first; i < end; ++i) {
                Fill memory fill = fills[i];
                _emitTraded(orders[fill.makerIndex], orders[fill.takerIndex], fill.lots);
            }
            return end;
        }
        _abandonFillOrKill(batch, orders, fills, first, end, failed, failReason);
        batch.lotsThisBlock = lotsThisBlock;
        batch.lastPriceTicks = lastPriceTicks;
        batch.riskFlags = riskFlags;
    }

    /// @dev Undoes the fills `first..failed-1` of a fill-or-kill run, newest first, and skips the
    /// whole run: `failed` with its own reason, the others with `FillOrKillIncomplete`.
    function _abandonFillOrKill(
        Batch memory batch,
        Order[] calldata orders,
        Fill[] calldata fills,
        uint256 first,
        uint256 end,
        uint256 failed,
        uint256 reason
    ) private {
        for (uint256 j = failed; j > first; --j) {
            Fill memory fill = fills[j - 1];
            _undoFill(batch, orders[fill.makerIndex], orders[fill.takerIndex], fill.lots);
            if (batch.orderStatus[fill.makerIndex] & STATUS_HAS_WINDOW != 0) {
                _windowLimits[WindowLimit.key(orders[fill.makerIndex].maker, batch.marketId)].giveBack(fill.lots);
            }
            if (batch.orderStatus[fill.takerIndex] & STATUS_HAS_WINDOW != 0) {
                _windowLimits[WindowLimit.key(orders[fill.takerIndex].maker, batch.marketId)].giveBack(fill.lots);
            }
        }
        for (uint256 j = first; j < end; ++j) {
            emit FillSkipped(j, uint8(j == failed ? reason : uint256(SkipReason.FillOrKillIncomplete)));
        }
    }

    /// @dev Executes one fill, or returns the `SkipReason` that stops it; reverts on keeper mistakes.
    /// `mode` is EXECUTE_AND_EMIT, EXECUTE (a fill-or-kill run emits once the run is complete), or
    /// CHECK_ONLY (the rest of an abandoned run: every keeper-mistake check, nothing executed).
    function _settleFill(
        Batch memory batch,
        Order[] calldata orders,
        bytes[] calldata signatures,
        Fill memory fill,
        uint256 fillIndex,
        uint256 mode
    ) private returns (uint256 skipReason) {
        Order memory makerOrder = batch.makerOrder;
        Order memory takerOrder = batch.takerOrder; // copied by the caller
        _copyOrder(orders[fill.makerIndex], makerOrder);
        _checkPair(makerOrder, takerOrder, fill, fillIndex);
        _loadMarket(batch, makerOrder.marketId, fillIndex);
        // An immediate-or-cancel order used by any fill of this call is dead after it, filled or not.
        if ((makerOrder.flags | takerOrder.flags) & IMMEDIATE_OR_CANCEL != 0) _markImmediateOrCancel(batch, fill);

        // Signatures are checked (and a bad EOA signature reverts) before any skip is decided.
        uint256[] memory status = batch.orderStatus;
        uint256 makerIndex = fill.makerIndex;
        uint256 takerIndex = fill.takerIndex;
        uint256 makerStatus = status[makerIndex];
        if (makerStatus & STATUS_CODE_MASK == 0) {
            makerStatus |= _checkOrder(makerOrder, orders[makerIndex], signatures[makerIndex], makerIndex, fillIndex);
            status[makerIndex] = makerStatus;
        }
        uint256 takerStatus = status[takerIndex];
        if (takerStatus & STATUS_CODE_MASK == 0) {
            takerStatus |= _checkOrder(takerOrder, orders[takerIndex], signatures[takerIndex], takerIndex, fillIndex);
            status[takerIndex] = takerStatus;
        }
        if (makerStatus & STATUS_CODE_MASK != VALID) return makerStatus & STATUS_CODE_MASK;
        if (takerStatus & STATUS_CODE_MASK != VALID) return (takerStatus & STATUS_CODE_MASK) + 1;
        if (mode == CHECK_ONLY) return _checkSizes(makerOrder, takerOrder, fill, fillIndex);
        skipReason = _executeFill(batch, makerOrder, takerOrder, fill, fillIndex, (makerStatus | (takerStatus << 1)));
        if (skipReason == 0 && mode == EXECUTE_AND_EMIT) _emitTraded(makerOrder, takerOrder, fill.lots);
    }

    /// @dev The fill-state part of `_executeFill`'s checks, changing nothing: 0, a cancelled
    /// order's SkipReason, or a `FillExceedsOrder` revert.
    function _checkSizes(
        Order memory makerOrder,
        Order memory takerOrder,
        Fill memory fill,
        uint256 fillIndex
    ) private view returns (uint256) {
        uint64 makerFilled = _fillWords.wordOf(makerOrder.maker, makerOrder.nonce).read(makerOrder.nonce);
        uint64 takerFilled = _fillWords.wordOf(takerOrder.maker, takerOrder.nonce).read(takerOrder.nonce);
        if (makerFilled == FillState.CANCELLED) return uint256(SkipReason.MakerCancelled);
        if (takerFilled == FillState.CANCELLED) return uint256(SkipReason.TakerCancelled);
        _revertFillExceedsOrder(makerOrder.lots, makerFilled, fill.lots, fill.makerIndex, fillIndex);
        _revertFillExceedsOrder(takerOrder.lots, takerFilled, fill.lots, fill.takerIndex, fillIndex);
        return 0;
    }

    /// @dev The part of `_settleFill` after both orders are known valid: fill state, fees, risk
    /// limits, funds. `windows` has STATUS_HAS_WINDOW set for the maker and shifted left by one for
    /// the taker.
    function _executeFill(
        Batch memory batch,
        Order memory makerOrder,
        Order memory takerOrder,
        Fill memory fill,
        uint256 fillIndex,
        uint256 windows
    ) private returns (uint256 skipReason) {
        FillState.Word storage makerWord = _fillWords.wordOf(makerOrder.maker, makerOrder.nonce);
        FillState.Word storage takerWord = _fillWords.wordOf(takerOrder.maker, takerOrder.nonce);
        uint64 makerFilled = makerWord.read(makerOrder.nonce);
        uint64 takerFilled = takerWord.read(takerOrder.nonce);
        if (makerFilled == FillState.CANCELLED) return uint256(SkipReason.MakerCancelled);
        if (takerFilled == FillState.CANCELLED) return uint256(SkipReason.TakerCancelled);
        uint64 lots = fill.lots;
        // In 256 bits neither sum can overflow. A lane can hold more than an order's lots when
        // another order signed under the same nonce filled more.
        if (uint256(makerFilled) + lots > makerOrder.lots || uint256(takerFilled) + lots > takerOrder.lots) {
            _revertFillExceedsOrder(makerOrder.lots, makerFilled, lots, fill.makerIndex, fillIndex);
            _revertFillExceedsOrder(takerOrder.lots, takerFilled, lots, fill.takerIndex, fillIndex);
        }

        if (makerOrder.maker == takerOrder.maker) return uint256(SkipReason.SelfTrade);
        if (batch.makerFeeBps > makerOrder.maxFeeBps) return uint256(SkipReason.MakerFeeTooHigh);
        if (batch.takerFeeBps > takerOrder.maxFeeBps) return uint256(SkipReason.TakerFeeTooHigh);
        if (batch.riskFlags != 0) {
            skipReason = _checkMarketLimits(batch, makerOrder.priceTicks, lots);
            if (skipReason != 0) return skipReason;
        }
        windows &= STATUS_HAS_WINDOW | (STATUS_HAS_WINDOW << 1);
        if (windows != 0) {
            skipReason = _checkWindowLimits(batch, makerOrder.maker, takerOrder.maker, lots, windows);
            if (skipReason != 0) return skipReason;
        }

        skipReason = _moveFunds(batch, makerOrder, takerOrder.maker, lots);
        if (skipReason != 0) return skipReason;

        uint256 riskFlags = batch.riskFlags;
        if (riskFlags & RISK_TRACKED != 0) {
            // With a velocity limit, lotsThisBlock + lots <= maxLotsPerBlock (checked above), so
            // the sum fits in 64 bits; without one, lots per block are not counted.
            if (riskFlags & RISK_VELOCITY != 0) {
                unchecked {
                    batch.lotsThisBlock += lots;
                }
            }
            batch.lastPriceTicks = makerOrder.priceTicks;
            batch.riskFlags = riskFlags | RISK_STATE_CHANGED;
        }
        if (windows != 0) {
            if (windows & STATUS_HAS_WINDOW != 0)
                _windowLimits[WindowLimit.key(makerOrder.maker, batch.marketId)].word = batch.makerWindow;
            if (windows & (STATUS_HAS_WINDOW << 1) != 0) {
                _windowLimits[WindowLimit.key(takerOrder.maker, batch.marketId)].word = batch.takerWindow;
            }
        }

        // Neither sum can exceed the order's lots (checked above), so neither reaches CANCELLED.
        // The maker and taker are different accounts (self-trades return above), so the two words
        // are different slots and writing one cannot overwrite the other.
        unchecked {
            makerWord.write(makerOrder.nonce, makerFilled + lots);
            takerWord.write(takerOrder.nonce, takerFilled + lots);
        }
    }

    /// @dev Moves base and quote between maker and taker at the maker's price and accrues both
    /// fees, or returns the side whose balance is too low and changes nothing.
    function _moveFunds(
        Batch memory batch,
        Order memory makerOrder,
        address taker,
        uint64 lots
    ) private returns (uint256 skipReason) {
        (uint256 baseAtoms, uint256 quoteAtoms, uint256 makerFee, uint256 takerFee) = _amounts(
            batch,
            lots,
            makerOrder.priceTicks
        );
        if (makerOrder.isBuy) {
            return _swap(batch, makerOrder.maker, taker, baseAtoms, quoteAtoms + makerFee, quoteAtoms - takerFee, true);
        }
        return _swap(batch, taker, makerOrder.maker, baseAtoms, quoteAtoms + takerFee, quoteAtoms - makerFee, false);
    }

    /// @dev The buyer pays `buyerPays` quote atoms for `baseAtoms` of the seller's base and the seller
    /// receives `sellerGets`; the difference is the two fees. Changes nothing and returns the short
    /// side's `SkipReason` when a balance cannot cover it.
    function _swap(
        Batch memory batch,
        address buyer,
        address seller,
        uint256 baseAtoms,
        uint256 buyerPays,
        uint256 sellerGets,
        bool makerBuys
    ) private returns (uint256 skipReason) {
        mapping(address => uint256) storage buyerBalances = _balances[buyer];
        mapping(address => uint256) storage sellerBalances = _balances[seller];
        uint256 buyerQuote = buyerBalances[batch.quote];
        if (buyerQuote < buyerPays) {
            return uint256(makerBuys ? SkipReason.MakerBalanceTooLow : SkipReason.TakerBalanceTooLow);
        }
        uint256 sellerBase = sellerBalances[batch.base];
        if (sellerBase < baseAtoms) {
            return uint256(makerBuys ? SkipReason.TakerBalanceTooLow : SkipReason.MakerBalanceTooLow);
        }
        // Debits are covered (checked above); sellerGets <= buyerPays. Credits cannot overflow:
        // every internal balance is backed by tokens the contract holds, whose supply fits in 256 bits.
        unchecked {
            buyerBalances[batch.quote] = buyerQuote - buyerPays;
            sellerBalances[batch.base] = sellerBase - baseAtoms;
            buyerBalances[batch.base] += baseAtoms;
            sellerBalances[batch.quote] += sellerGets;
            batch.feesAccrued += buyerPays - sellerGets;
        }
        return 0;
    }

    /// @dev Reverses an executed fill of a fill-or-kill run: the exact inverse of `_swap` and of the
    /// fill-state update in `_executeFill`.
    function _undoFill(Batch memory batch, Order calldata makerOrder, Order calldata takerOrder, uint64 lots) private {
        (uint256 baseAtoms, uint256 quoteAtoms, uint256 makerFee, uint256 takerFee) = _amounts(
            batch,
            lots,
            makerOrder.priceTicks
        );
        if (makerOrder.isBuy) {
            _unswap(batch, makerOrder.maker, takerOrder.maker, baseAtoms, quoteAtoms + makerFee, quoteAtoms - takerFee);
        } else {
            _unswap(batch, takerOrder.maker, makerOrder.maker, baseAtoms, quoteAtoms + takerFee, quoteAtoms - makerFee);
        }
        FillState.Word storage makerWord = _fillWords.wordOf(makerOrder.maker, makerOrder.nonce);
        FillState.Word storage takerWord = _fillWords.wordOf(takerOrder.maker, takerOrder.nonce);
        // The lots were added to both lanes by this fill earlier in this call.
        unchecked {
            makerWord.write(makerOrder.nonce, makerWord.read(makerOrder.nonce) - lots);
            takerWord.write(takerOrder.nonce, takerWord.read(takerOrder.nonce) - lots);
        }
    }

    /// @dev The exact inverse of a successful `_swap` with the same arguments.
    function _unswap(
        Batch memory batch,
        address buyer,
        address seller,
        uint256 baseAtoms,
        uint256 buyerPays,
        uint256 sellerGets
    ) private {
        // Each amount was moved the other way by the swap being undone, so it is there to take back.
        unchecked {
            _balances[buyer][batch.quote] += buyerPays;
            _balances[seller][batch.base] += baseAtoms;
            _balances[buyer][batch.base] -= baseAtoms;
            _balances[seller][batch.quote] -= sellerGets;
            batch.feesAccrued -= buyerPays - sellerGets;
        }
    }

    /// @dev Base atoms, quote atoms and both fees of `lots` at `priceTicks` in the cached market.
    function _amounts(
        Batch memory batch,
        uint64 lots,
        uint64 priceTicks
    ) private pure returns (uint256 baseAtoms, uint256 quoteAtoms, uint256 makerFee, uint256 takerFee) {
        baseAtoms = FillMath.baseAmount(lots, batch.lotSize);
        quoteAtoms = FillMath.quoteAmount(lots, priceTicks, batch.tickSize);
        makerFee = FillMath.fee(quoteAtoms, batch.makerFeeBps);
        takerFee = FillMath.fee(quoteAtoms, batch.takerFeeBps);
    }

    /// @dev Copies `src` into `dst`, reverting (like a Solidity calldata read) when a field has bits
    /// beyond its type.
    function _copyOrder(Order calldata src, Order memory dst) private pure {
        assembly ("memory-safe") {
            calldatacopy(dst, src, 0x120)
            let dirty := shr(160, mload(dst)) // maker
            dirty := or(dirty, shr(32, mload(add(dst, 0x20)))) // marketId
            dirty := or(dirty, shr(1, mload(add(dst, 0x40)))) // isBuy
            dirty := or(dirty, shr(8, mload(add(dst, 0x60)))) // flags
            dirty := or(dirty, shr(16, mload(add(dst, 0x80)))) // maxFeeBps
            dirty := or(dirty, shr(40, mload(add(dst, 0xa0)))) // expiry
            dirty := or(dirty, shr(64, mload(add(dst, 0xc0)))) // nonce
            dirty := or(dirty, shr(64, mload(add(dst, 0xe0)))) // priceTicks
            dirty := or(dirty, shr(64, mload(add(dst, 0x100)))) // lots
            if dirty {
                revert(0, 0)
            }
        }
    }

    /// @dev Copies `src` into `dst`, reverting when a field has bits beyond its type.
    function _copyFill(Fill calldata src, Fill memory dst) private pure {
        assembly ("memory-safe") {
            calldatacopy(dst, src, 0x60)
            let dirty := shr(32, mload(dst)) // makerIndex
            dirty := or(dirty, shr(32, mload(add(dst, 0x20)))) // takerIndex
            dirty := or(dirty, shr(64, mload(add(dst, 0x40)))) // lots
            if dirty {
                revert(0, 0)
            }
        }
    }

    /// @dev Reverts unless both indices of `fill` point into `orders`.
    function _checkIndices(Fill memory fill, uint256 orderCount, uint256 fillIndex) private pure {
        uint256 makerIndex = fill.makerIndex;
        uint256 takerIndex = fill.takerIndex;
        if ((makerIndex < takerIndex ? takerIndex : makerIndex) >= orderCount) {
            revert OrderIndexOutOfRange(fillIndex, makerIndex >= orderCount ? makerIndex : takerIndex, orderCount);
        }
    }

    /// @dev The keeper mistakes that depend only on the two signed orders and the fill's size.
    function _checkPair(
        Order memory makerOrder,
        Order memory takerOrder,
        Fill memory fill,
        uint256 fillIndex
    ) private pure {
        if (fill.lots == 0) revert ZeroLotFill(fillIndex);
        uint8 makerFlags = makerOrder.flags;
        uint8 takerFlags = takerOrder.flags;
        // One test for the flags on the common path; the failing one is named below.
        if ((makerFlags & (~KNOWN_FLAGS | FILL_OR_KILL)) | (takerFlags & (~KNOWN_FLAGS | POST_ONLY)) != 0) {
            if (makerFlags & ~KNOWN_FLAGS != 0) revert InvalidFlags(fillIndex, fill.makerIndex, makerFlags);
            if (takerFlags & ~KNOWN_FLAGS != 0) revert InvalidFlags(fillIndex, fill.takerIndex, takerFlags);
            if (takerFlags & POST_ONLY != 0) revert PostOnlyTaker(fillIndex, fill.takerIndex);
            revert FillOrKillMaker(fillIndex, fill.makerIndex);
        }
        if (makerOrder.marketId != takerOrder.marketId) {
            revert MarketMismatch(fillIndex, makerOrder.marketId, takerOrder.marketId);
        }
        if (makerOrder.isBuy == takerOrder.isBuy) revert SameSide(fillIndex, makerOrder.isBuy);
        if (
            makerOrder.isBuy
                ? takerOrder.priceTicks > makerOrder.priceTicks
                : takerOrder.priceTicks < makerOrder.priceTicks
        ) revert PricesDoNotCross(fillIndex, makerOrder.priceTicks, takerOrder.priceTicks);
        if (makerOrder.maker == takerOrder.maker && makerOrder.nonce == takerOrder.nonce) {
            revert SameOrderOnBothSides(fillIndex, makerOrder.maker, makerOrder.nonce);
        }
    }

    /// @dev Reverts with `FillExceedsOrder` when `requested` lots exceed what is left of an order
    /// with `filledLots` filled.
    function _revertFillExceedsOrder(
        uint64 orderLots,
        uint64 filledLots,
        uint64 requested,
        uint256 orderIndex,
        uint256 fillIndex
    ) private pure {
        uint64 remaining = filledLots >= orderLots ? 0 : orderLots - filledLots;
        if (requested > remaining) revert FillExceedsOrder(fillIndex, orderIndex, remaining, requested);
    }

    /// @dev Checks an order's signature, expiry, its account's nonce floor and cancel-after
    /// deadline: VALID or the maker-side SkipReason, with STATUS_HAS_WINDOW when the account has
    /// window limits.
    function _checkOrder(
        Order memory order,
        Order calldata signedOrder,
        bytes calldata signature,
        uint256 orderIndex,
        uint256 fillIndex
    ) private view returns (uint256) {
        bytes32 digest = _hashTypedDataV4(OrderHashing.structHash(signedOrder));
        if (_recover(digest, signature) != order.maker) {
            if (order.maker.code.length == 0) revert InvalidSignature(fillIndex, orderIndex);
            // The wallet must get its whole allowance (a call gets at most 63/64 of what is left),
            // or a keeper could starve it into a "no" and skip a good order.
            if (gasleft() < WALLET_CHECK_MIN_GAS) revert InsufficientGasForWallet(fillIndex, orderIndex);
            if (!_walletApproves(order.maker, digest, signature)) {
                return uint256(SkipReason.MakerSignatureRejected);
            }
        }
        if (block.timestamp > order.expiry) return uint256(SkipReason.MakerExpired);
        Account storage account = _accounts[order.maker];
        if (order.nonce < account.minNonce) return uint256(SkipReason.MakerNonceBelowFloor);
        uint40 deadline = account.cancelAfter;
        if (deadline != 0 && block.timestamp > deadline) return uint256(SkipReason.MakerCancelAfterPassed);
        return account.windowLimitCount == 0 ? VALID : VALID | STATUS_HAS_WINDOW;
    }

    /// @dev The address whose key made the 65-byte `signature` of `digest`, or zero. This skips
    /// OpenZeppelin's `ECDSA.tryRecover` checks, none of which this contract needs: a malleable
    /// (high-s) twin of a valid signature authorises the same order, which is keyed by its maker and
    /// nonce, never by its signature; a bad `v` or point makes the precompile return nothing.
    function _recover(bytes32 digest, bytes calldata signature) private view returns (address signer) {
        if (signature.length != 65) return address(0);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, digest)
            mstore(add(ptr, 0x20), byte(0, calldataload(add(signature.offset, 0x40)))) // v
            calldatacopy(add(ptr, 0x40), signature.offset, 0x40) // r, s
            mstore(0, 0) // the precompile writes nothing when it cannot recover
            pop(staticcall(gas(), 0x01, ptr, 0x80, 0, 0x20))
            signer := mload(0)
        }
    }

    /// @dev Asks an ERC-1271 wallet whether it approves `digest`, with a fixed gas allowance and
    /// reading at most 32 bytes of its answer, so that a hostile wallet cannot make the batch run
    /// out of gas. Any failure, revert or malformed answer counts as "no".
    function _walletApproves(address wallet, bytes32 digest, bytes calldata signature) private view returns (bool) {
        bytes memory callData = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bool success;
        bytes32 answer;
        uint256 returned;
        // Assembly instead of a high-level call: it caps the copied answer at one word (a wallet
        // returning megabytes would otherwise charge the batch for copying them).
        assembly ("memory-safe") {
            success := staticcall(ERC1271_GAS_LIMIT, wallet, add(callData, 0x20), mload(callData), 0, 0x20)
            returned := returndatasize()
            answer := mload(0)
        }
        return success && returned >= 32 && answer == bytes32(IERC1271.isValidSignature.selector);
    }

    /// @dev The per-fill market limits: halt, reference, band and velocity. 0 or the SkipReason.
    function _checkMarketLimits(Batch memory batch, uint64 priceTicks, uint64 lots) private pure returns (uint256) {
        uint256 flags = batch.riskFlags;
        if (flags & RISK_HALTED != 0) return uint256(SkipReason.MarketHalted);
        if (flags & RISK_NO_REFERENCE != 0) return uint256(SkipReason.ReferencePriceUnavailable);
        if (flags & RISK_BAND != 0 && (priceTicks < batch.minPriceTicks || priceTicks > batch.maxPriceTicks)) {
            return uint256(SkipReason.PriceOutsideBand);
        }
        if (flags & RISK_VELOCITY != 0 && uint256(batch.lotsThisBlock) + lots > batch.maxLotsPerBlock) {
            return uint256(SkipReason.VelocityLimitReached);
        }
        return 0;
    }

    /// @dev The accounts' own window limits in this market: 0 or the SkipReason, and each limited
    /// account's window word to store if the fill executes.
    function _checkWindowLimits(
        Batch memory batch,
        address maker,
        address taker,
        uint64 lots,
        uint256 windows
    ) private view returns (uint256) {
        bool allowed;
        uint32 marketId = batch.marketId;
        if (windows & STATUS_HAS_WINDOW != 0) {
            (allowed, batch.makerWindow) = WindowLimit.take(
                _windowLimits[WindowLimit.key(maker, marketId)].word,
                block.timestamp,
                lots
            );
            if (!allowed) return uint256(SkipReason.MakerWindowLimitReached);
        }
        if (windows & (STATUS_HAS_WINDOW << 1) != 0) {
            (allowed, batch.takerWindow) = WindowLimit.take(
                _windowLimits[WindowLimit.key(taker, marketId)].word,
                block.timestamp,
                lots
            );
            if (!allowed) return uint256(SkipReason.TakerWindowLimitReached);
        }
        return 0;
    }

    /// @dev Caches market `marketId` in `batch`, writing back the previous market first. Each
    /// market is loaded once per call, so its reference price and lots per block are those from
    /// before the call.
    function _loadMarket(Batch memory batch, uint32 marketId, uint256 fillIndex) private {
        if (batch.marketId == marketId) return;
        _flushMarket(batch);
        uint256 visited = batch.visitedCount;
        for (uint256 i; i < visited; ++i) {
            if (batch.visitedMarkets[i] == marketId) revert MarketNotContiguous(fillIndex, marketId);
        }
        batch.visitedMarkets[visited] = marketId; // at most one new market per fill
        batch.visitedCount = visited + 1;

        MarketConfig.Market storage m = _markets[marketId];
        address base = m.base;
        if (base == address(0)) revert UnknownMarket(fillIndex, marketId);
        batch.marketId = marketId;
        batch.base = base;
        batch.lotSize = m.lotSize;
        batch.quote = m.quote;
        batch.tickSize = m.tickSize;
        batch.makerFeeBps = m.makerFeeBps;
        batch.takerFeeBps = m.takerFeeBps;
        uint256 flags = m.halted ? RISK_HALTED : 0;
        uint16 bandBps = m.bandBps;
        uint64 maxLotsPerBlock = m.maxLotsPerBlock;
        if (bandBps != 0 || maxLotsPerBlock != 0) {
            flags |= RISK_TRACKED;
            batch.lastPriceTicks = m.lastPriceTicks;
            batch.lotsThisBlock = m.stateBlock == block.number ? m.lotsThisBlock : 0;
            if (maxLotsPerBlock != 0) {
                flags |= RISK_VELOCITY;
                batch.maxLotsPerBlock = maxLotsPerBlock;
            }
            if (bandBps != 0) {
                (bool available, uint64 low, uint64 high) = m.bandBounds(bandBps);
                if (!available) flags |= RISK_NO_REFERENCE;
                flags |= RISK_BAND;
                batch.minPriceTicks = low;
                batch.maxPriceTicks = high;
            }
        }
        batch.riskFlags = flags;
    }

    /// @dev Writes back what the call changed of the cached market: the fee recipient's fees and
    /// the tracked last price and lots per block.
    function _flushMarket(Batch memory batch) private {
        if (batch.feesAccrued != 0) {
            _balances[batch.feeRecipient][batch.quote] += batch.feesAccrued;
            batch.feesAccrued = 0;
        }
        if (batch.riskFlags & RISK_STATE_CHANGED != 0) {
            MarketConfig.Market storage m = _markets[batch.marketId];
            m.lastPriceTicks = batch.lastPriceTicks;
            m.stateBlock = uint64(block.number);
            m.lotsThisBlock = batch.lotsThisBlock;
        }
    }

    /// @dev Records that the immediate-or-cancel orders of `fill` were used in this call.
    function _markImmediateOrCancel(Batch memory batch, Fill memory fill) private pure {
        batch.anyImmediateOrCancel = true;
        batch.orderStatus[fill.makerIndex] |= STATUS_IOC_USED;
        batch.orderStatus[fill.takerIndex] |= STATUS_IOC_USED;
    }

    /// @dev An immediate-or-cancel order used in this call can never fill again.
    function _killImmediateOrCancel(Batch memory batch, Order[] calldata orders) private {
        for (uint256 i; i < orders.length; ++i) {
            Order calldata order = orders[i];
            if (batch.orderStatus[i] & STATUS_IOC_USED != 0 && order.flags & IMMEDIATE_OR_CANCEL != 0) {
                _fillWords.wordOf(order.maker, order.nonce).write(order.nonce, FillState.CANCELLED);
            }
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

    function _setHalted(uint32 marketId, bool halted) private {
        MarketConfig.Market storage m = _listedMarket(marketId);
        if (m.halted == halted) revert NoStateChange();
        m.halted = halted;
        emit MarketHaltChanged(marketId, !halted, halted);
    }

    function _listedMarket(uint32 marketId) private view returns (MarketConfig.Market storage m) {
        m = _markets[marketId];
        if (m.base == address(0)) revert MarketNotListed(marketId);
    }
}
