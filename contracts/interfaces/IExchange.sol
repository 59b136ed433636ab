// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/// @title Crossbook exchange
/// @notice Traders sign orders off-chain (EIP-712, domain "Crossbook" version "1"); a keeper matches
/// them and settles batches of fills here. The contract checks every promise made to a trader —
/// signature, limit price, size, expiry, cancellation and fee — so that a keeper can never hurt one.
/// @dev Two kinds of failure are kept apart on purpose. A keeper mistake reverts the whole
/// `settle` call with a custom error naming the fill. Anything a trader can change after signing
/// skips that fill only and emits `FillSkipped`, so no trader can make a batch revert.
/// Matches are firm: every trader action that can make a matched fill fail (`cancel`,
/// `cancelUpTo`, `requestWithdraw`, tightening `setCancelAfter` or `setWindowLimit`) takes effect
/// `firmnessDelay()` seconds after it is mined, so a fill settled within that delay of its match
/// executes; after it, the action is as final as ever.
/// The EIP-712 domain is readable on-chain through EIP-5267's `eip712Domain()` (inherited from
/// `IERC5267`): fields `0x0f` (name, version, chainId, verifyingContract), name "Crossbook", version
/// "1", no salt, no extensions. keeper/API.md gives the type strings of the order and of the
/// keeper's own signed messages under the same domain.
interface IExchange is IERC5267 {
    /// @notice A signed order. Sizes are whole lots (`base atoms = lots * lotSize`) and prices whole
    /// ticks per lot (`quote atoms = lots * priceTicks * tickSize`).
    struct Order {
        address maker;
        uint32 marketId;
        bool isBuy;
        /// @dev bit 0 POST_ONLY, bit 1 IMMEDIATE_OR_CANCEL, bit 2 FILL_OR_KILL; other bits must be zero.
        uint8 flags;
        /// @dev The most the maker accepts to pay on this order, in basis points of the quote amount.
        uint16 maxFeeBps;
        /// @dev Unix seconds; the order is valid while `block.timestamp <= expiry`.
        uint40 expiry;
        /// @dev Chosen by the maker; `(maker, nonce)` keys the order's fill state.
        uint64 nonce;
        uint64 priceTicks;
        /// @dev At most `MAX_ORDER_LOTS` (2^63 - 1); a keeper that sends a larger order gets `OrderTooLarge`.
        uint64 lots;
    }

    /// @notice One match: `lots` of the taker order against the maker order, at the maker's price.
    struct Fill {
        uint32 makerIndex;
        uint32 takerIndex;
        uint64 lots;
    }

    /// @notice Why a fill was skipped. Reasons that belong to one side of the fill come in pairs:
    /// the maker's reason is odd and the taker's is the next even number. Mirrored in the SDK.
    enum SkipReason {
        None, // 0: never emitted
        MakerCancelled, // 1: the maker's cancel of the order's nonce is in force (or it was an IOC used earlier)
        TakerCancelled, // 2
        MakerExpired, // 3: block.timestamp > expiry
        TakerExpired, // 4
        MakerNonceBelowFloor, // 5: the nonce is below the account's cancelUpTo floor in force
        TakerNonceBelowFloor, // 6
        MakerBalanceTooLow, // 7: the internal balance cannot pay for the fill (and its fee)
        TakerBalanceTooLow, // 8
        MakerFeeTooHigh, // 9: the market's fee for this side is above the order's maxFeeBps
        TakerFeeTooHigh, // 10
        MakerSignatureRejected, // 11: the signature does not verify (ECDSA, or an ERC-1271 wallet's approval)
        TakerSignatureRejected, // 12
        SelfTrade, // 13: the same account on both sides
        FillOrKillIncomplete, // 14: another fill of the same fill-or-kill taker was skipped
        MarketHalted, // 15: the guardian halted the market
        PriceOutsideBand, // 16: the fill's price is outside the market's band around its reference
        VelocityLimitReached, // 17: the fill would take the market past its lots per block
        ReferencePriceUnavailable, // 18: the market's feed is stale, non-positive or failing, or it has no reference
        MakerCancelAfterPassed, // 19: the account's cancel-after deadline has passed
        TakerCancelAfterPassed, // 20
        MakerWindowLimitReached, // 21: the fill would take the account past its own lots per window
        TakerWindowLimitReached // 22
    }

    /// @notice Emitted when the admin lists a market.
    event MarketListed(
        uint32 indexed marketId,
        address base,
        address quote,
        uint128 lotSize,
        uint128 tickSize,
        uint16 makerFeeBps,
        uint16 takerFeeBps
    );
    /// @notice Emitted when the admin changes a market's fees.
    event FeesChanged(
        uint32 indexed marketId,
        uint16 oldMakerFeeBps,
        uint16 oldTakerFeeBps,
        uint16 newMakerFeeBps,
        uint16 newTakerFeeBps
    );
    /// @notice Emitted when the admin changes the account that receives fees.
    event FeeRecipientChanged(address oldRecipient, address newRecipient);
    /// @notice Emitted when the admin changes the firmness delay.
    event FirmnessDelayChanged(uint32 oldDelaySeconds, uint32 newDelaySeconds);
    /// @notice Emitted when `amount` atoms of `token` are credited to `account` by a deposit.
    event Deposited(address indexed account, address indexed token, uint256 amount);
    /// @notice Emitted when `account` asks to withdraw `amount` of `token`: it may do so from
    /// `effectiveAt` on (0 with `amount` 0: the request is dropped). Fills until then still settle.
    event WithdrawalRequested(address indexed account, address indexed token, uint256 amount, uint40 effectiveAt);
    /// @notice Emitted when `amount` atoms of `token` leave `account`'s balance by a withdrawal.
    event Withdrawn(address indexed account, address indexed token, uint256 amount);
    /// @notice Emitted when a nonce of `maker` is cancelled: no order under it fills from
    /// `effectiveAt` on. Emitted by `cancel` (in force after the firmness delay) and by `settle` for
    /// each immediate-or-cancel order it kills (in force at once, `effectiveAt` the block's time).
    event OrderCancelled(address indexed maker, uint64 nonce, uint40 effectiveAt);
    /// @notice Emitted when a maker raises its nonce floor: from `effectiveAt` on, every nonce below
    /// `newMinNonce` is dead. `oldMinNonce` is the floor in force when it was asked.
    event NonceFloorRaised(address indexed maker, uint64 oldMinNonce, uint64 newMinNonce, uint40 effectiveAt);
    /// @notice Emitted for each executed fill: enough to rebuild the tape and track both orders.
    /// @dev `makerOrder` and `takerOrder` are order keys: bytes 0-19 the account, bytes 20-27 the
    /// nonce (big-endian), bytes 28-31 zero — `(uint256(uint160(account)) << 96) | (uint256(nonce) << 32)`.
    /// Packing each `(account, nonce)` into one word saves two of the event's data words (~500 gas a
    /// fill). The taker's side is `!makerIsBuy`; fees follow from the market's fees at that block.
    event Traded(
        uint32 indexed marketId,
        bytes32 makerOrder,
        bytes32 takerOrder,
        bool makerIsBuy,
        uint64 priceTicks,
        uint64 lots
    );
    /// @notice Emitted when the guardian pauses everything or the admin unpauses.
    event PauseChanged(bool oldPaused, bool newPaused);
    /// @notice Emitted when the guardian halts a market or the admin resumes it.
    event MarketHaltChanged(uint32 indexed marketId, bool oldHalted, bool newHalted);
    /// @notice Emitted when the admin changes a market's price band (and, if non-zero, its reference).
    event PriceBandChanged(
        uint32 indexed marketId,
        uint16 oldBandBps,
        uint16 newBandBps,
        uint64 oldReferencePriceTicks,
        uint64 newReferencePriceTicks
    );
    /// @notice Emitted when the admin sets or removes a market's price feed.
    event PriceFeedChanged(
        uint32 indexed marketId,
        address oldFeed,
        address newFeed,
        uint32 oldMaxAgeSeconds,
        uint32 newMaxAgeSeconds
    );
    /// @notice Emitted when the admin changes a market's velocity limit (0: none).
    event VelocityLimitChanged(uint32 indexed marketId, uint64 oldMaxLotsPerBlock, uint64 newMaxLotsPerBlock);
    /// @notice Emitted when an account changes its cancel-after deadline (0: off). `newDeadline` is
    /// the deadline in force, for every time to come (see `setCancelAfter`).
    event CancelAfterChanged(address indexed account, uint40 oldDeadline, uint40 newDeadline);
    /// @notice Emitted when an account asks to change its window limit on a market (windowSeconds 0:
    /// none): the new limit applies from `effectiveAt` on, the old one (in force when asked) until then.
    event WindowLimitChangeScheduled(
        address indexed account,
        uint32 indexed marketId,
        uint48 oldMaxLots,
        uint24 oldWindowSeconds,
        uint48 newMaxLots,
        uint24 newWindowSeconds,
        uint32 effectiveAt
    );
    /// @notice Emitted for each fill skipped because of something a trader changed after signing.
    /// @param reason a `SkipReason`
    event FillSkipped(uint256 fillIndex, uint8 reason);

    /// @notice Thrown when `signatures` does not have one entry per order.
    error SignatureCountMismatch(uint256 orders, uint256 signatures);
    /// @notice Thrown when a fill points at an order index beyond `orders`.
    error OrderIndexOutOfRange(uint256 fillIndex, uint256 orderIndex, uint256 orderCount);
    /// @notice Thrown when a fill is for zero lots.
    error ZeroLotFill(uint256 fillIndex);
    /// @notice Thrown when a fill's two orders belong to different markets.
    error MarketMismatch(uint256 fillIndex, uint32 makerMarketId, uint32 takerMarketId);
    /// @notice Thrown when a fill names a market that is not listed.
    error UnknownMarket(uint256 fillIndex, uint32 marketId);
    /// @notice Thrown when both orders of a fill are on the same side.
    error SameSide(uint256 fillIndex, bool isBuy);
    /// @notice Thrown when the taker's limit does not cross the maker's price.
    error PricesDoNotCross(uint256 fillIndex, uint64 makerPriceTicks, uint64 takerPriceTicks);
    /// @notice Thrown when a post-only order is used as the taker.
    error PostOnlyTaker(uint256 fillIndex, uint256 orderIndex);
    /// @notice Thrown when a fill-or-kill order is used as the maker.
    error FillOrKillMaker(uint256 fillIndex, uint256 orderIndex);
    /// @notice Thrown when the contiguous fills of a fill-or-kill taker do not add up to its size.
    error FillOrKillSizeMismatch(uint256 fillIndex, uint64 orderLots, uint256 fillLots);
    /// @notice Thrown when a fill-or-kill taker appears again after its run of contiguous fills.
    error FillOrKillNotContiguous(uint256 fillIndex, uint256 orderIndex);
    /// @notice Thrown when an order's flags have bits outside POST_ONLY, IOC and FOK.
    error InvalidFlags(uint256 fillIndex, uint256 orderIndex, uint8 flags);
    /// @notice Thrown when an order is for more than `MAX_ORDER_LOTS` lots.
    error OrderTooLarge(uint256 fillIndex, uint256 orderIndex, uint64 lots);
    /// @notice Thrown when the same `(maker, nonce)` is on both sides of a fill.
    error SameOrderOnBothSides(uint256 fillIndex, address maker, uint64 nonce);
    /// @notice Thrown when a fill asks for more lots than the order has left under its nonce.
    error FillExceedsOrder(uint256 fillIndex, uint256 orderIndex, uint64 remaining, uint64 requested);
    /// @notice Thrown when too little gas is left to give an ERC-1271 wallet its whole allowance.
    error InsufficientGasForWallet(uint256 fillIndex, uint256 orderIndex);
    /// @notice Thrown when too little gas is left to give a market's price feed its whole allowance.
    error InsufficientGasForPriceFeed(uint256 fillIndex, uint32 marketId);
    /// @notice Thrown when the fills of one market are not contiguous in the batch.
    error MarketNotContiguous(uint256 fillIndex, uint32 marketId);

    /// @notice Thrown when a deposit or withdrawal is for zero atoms (or a deposit credits none).
    error ZeroAmount();
    /// @notice Thrown when a withdrawal asks for more than the account's internal balance.
    error InsufficientBalance(address token, uint256 available, uint256 requested);
    /// @notice Thrown when a withdrawal asks for more than the account's standing request.
    error WithdrawalExceedsRequest(address token, uint256 requested, uint256 amount);
    /// @notice Thrown when a withdrawal comes before its request is in force.
    error WithdrawalNotYetEffective(address token, uint40 effectiveAt);
    /// @notice Thrown when `cancelUpTo` would not raise the account's last requested nonce floor.
    error NonceFloorNotRaised(uint64 currentMinNonce, uint64 requestedMinNonce);
    /// @notice Thrown when `cancel` is given no nonces.
    error NothingToCancel();
    /// @notice Thrown when a market is listed with a base or quote that is not a contract, or both the same.
    error InvalidMarketTokens(address base, address quote);
    /// @notice Thrown when a lot or tick size is zero or wider than 96 bits.
    error InvalidMarketSize(uint128 lotSize, uint128 tickSize);
    /// @notice Thrown when a fee is above `MAX_FEE_BPS`.
    error FeeAboveCap(uint16 feeBps, uint16 maxFeeBps);
    /// @notice Thrown when the firmness delay would be above `MAX_FIRMNESS_DELAY`.
    error FirmnessDelayTooLong(uint32 delaySeconds, uint32 maxDelaySeconds);
    /// @notice Thrown when an admin function names a market that is not listed.
    error MarketNotListed(uint32 marketId);
    /// @notice Thrown when the fee recipient would be the zero address.
    error ZeroFeeRecipient();
    /// @notice Thrown by `settle` and `deposit` while the exchange is paused.
    error EnforcedPause();
    /// @notice Thrown when pausing what is paused, or unpausing what is not (likewise halting).
    error NoStateChange();
    /// @notice Thrown when a price band is wider than 100% (10,000 basis points).
    error InvalidPriceBand(uint16 bandBps);
    /// @notice Thrown when a band needs a reference price and none is given or known.
    error NoReferencePrice(uint32 marketId);
    /// @notice Thrown when a feed's or a token's decimals are above 18.
    error UnsupportedDecimals(uint8 feedDecimals, uint8 baseDecimals, uint8 quoteDecimals);
    /// @notice Thrown when a window limit has a zero cap but a non-zero window.
    error InvalidWindowLimit(uint48 maxLots, uint24 windowSeconds);

    /// @notice The role allowed to call `settle`: `keccak256("KEEPER_ROLE")`, granted with `grantRole`.
    function KEEPER_ROLE() external view returns (bytes32);

    /// @notice The role allowed to `pause` and to halt markets: `keccak256("GUARDIAN_ROLE")`.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice The highest fee a market can have on either side, in basis points (100: 1%).
    function MAX_FEE_BPS() external view returns (uint16);

    /// @notice How long a loosening of an account's window limit waits before it applies (seconds).
    function LOOSEN_DELAY() external view returns (uint32);

    /// @notice Gas given to an ERC-1271 wallet's `isValidSignature`, so that no wallet can eat a batch's gas.
    function ERC1271_GAS_LIMIT() external view returns (uint256);

    /// @notice The longest firmness delay the admin can set (seconds): a trader's cancel is never further off.
    function MAX_FIRMNESS_DELAY() external view returns (uint32);

    /// @notice The most lots an order may have (2^63 - 1).
    function MAX_ORDER_LOTS() external view returns (uint64);

    /// @notice Lists a market; ids count up from 1. Lot and tick sizes must fit in 96 bits.
    function listMarket(
        address base,
        address quote,
        uint128 lotSize,
        uint128 tickSize,
        uint16 makerFeeBps,
        uint16 takerFeeBps
    ) external returns (uint32 marketId);

    /// @notice Changes a market's fees; each at most `MAX_FEE_BPS`. Orders whose `maxFeeBps` is
    /// below the new fee stop filling (skipped with `MakerFeeTooHigh` / `TakerFeeTooHigh`).
    function setFees(uint32 marketId, uint16 makerFeeBps, uint16 takerFeeBps) external;

    /// @notice Sets the account whose internal balance receives fees.
    function setFeeRecipient(address recipient) external;

    /// @notice Sets how long a trader's cancel, floor raise, withdrawal request or tighter limit
    /// waits before it takes effect (admin), at most `MAX_FIRMNESS_DELAY`; 0 makes them immediate.
    /// Requests already made keep their times.
    function setFirmnessDelay(uint32 delaySeconds) external;

    /// @notice The firmness delay in seconds (`DEFAULT_FIRMNESS_DELAY` at deployment).
    function firmnessDelay() external view returns (uint32);

    /// @notice The market's parameters.
    function market(
        uint32 marketId
    )
        external
        view
        returns (
            address base,
            address quote,
            uint128 lotSize,
            uint128 tickSize,
            uint16 makerFeeBps,
            uint16 takerFeeBps
        );

    /// @notice How many markets are listed (the highest market id).
    function marketCount() external view returns (uint32);

    /// @notice The account whose internal balance receives fees.
    function feeRecipient() external view returns (address);

    /// @notice Pulls `amount` of `token` from the caller and credits what actually arrived.
    function deposit(address token, uint256 amount) external;

    /// @notice Asks to withdraw `amount` of `token`: `withdraw` may send it from `firmnessDelay()`
    /// seconds on. The request reserves nothing — fills until then still settle against the balance —
    /// and stands until used or replaced: asking for no more than the standing request keeps its time,
    /// asking for more starts the delay again, and 0 drops it. Works in every state of the contract.
    function requestWithdraw(address token, uint256 amount) external;

    /// @notice Sends `amount` of `token` from the caller's internal balance to the caller, out of a
    /// request in force (reverts `WithdrawalExceedsRequest` or `WithdrawalNotYetEffective` otherwise;
    /// the request shrinks by `amount`). Works in every state of the contract.
    function withdraw(address token, uint256 amount) external;

    /// @notice `account`'s standing withdrawal request in `token`: what may leave, and from when (0: none).
    function withdrawalRequest(
        address account,
        address token
    ) external view returns (uint256 amount, uint40 effectiveAt);

    /// @notice `account`'s internal balance of `token`, in atoms.
    function balanceOf(address account, address token) external view returns (uint256);

    /// @notice Settles a batch of fills. Keeper only. Each order is verified once per call.
    function settle(Order[] calldata orders, bytes[] calldata signatures, Fill[] calldata fills) external;

    /// @notice Cancels the caller's orders with these nonces, for good, from `firmnessDelay()`
    /// seconds on (a nonce already being cancelled keeps its earlier time). Until then they still fill.
    function cancel(uint64[] calldata nonces) external;

    /// @notice Makes every nonce of the caller below `minNonce` dead from `firmnessDelay()` seconds
    /// on. The floor only rises: `minNonce` must be above the last floor asked for. A raise asked while
    /// another is pending replaces it, and both take effect with the new one.
    function cancelUpTo(uint64 minNonce) external;

    /// @notice Lots filled under `(maker, nonce)`; `type(uint64).max` once a cancel is in force.
    function filled(address maker, uint64 nonce) external view returns (uint64);

    /// @notice When a requested cancel of `(maker, nonce)` takes effect, while it has not yet; 0 otherwise.
    function pendingCancel(address maker, uint64 nonce) external view returns (uint40 effectiveAt);

    /// @notice The maker's nonce floor in force: its nonces below it never fill.
    function minNonce(address maker) external view returns (uint64);

    /// @notice A raise of the maker's nonce floor not yet in force, and when it takes effect; (0, 0) if none.
    function pendingMinNonce(address maker) external view returns (uint64 minNonce, uint40 effectiveAt);

    /// @notice The EIP-712 digest of an order, as signed by its maker.
    function hashOrder(Order calldata order) external view returns (bytes32);

    /// @notice Stops `settle` and `deposit` everywhere at once (guardian). Withdrawals and
    /// cancels keep working.
    function pause() external;

    /// @notice Lifts the pause (admin).
    function unpause() external;

    /// @notice Whether the exchange is paused.
    function paused() external view returns (bool);

    /// @notice Halts one market at once (guardian): its fills are skipped with `MarketHalted`.
    function haltMarket(uint32 marketId) external;

    /// @notice Resumes a halted market (admin).
    function resumeMarket(uint32 marketId) external;

    /// @notice Sets a market's price band (admin): a fill priced more than `bandBps` away from the
    /// reference is skipped with `PriceOutsideBand`; 0 turns the band off. The reference is the
    /// market's feed when it has one, else the last price settled before the current call; a
    /// non-zero `referencePriceTicks` sets that last price (the initial reference of a new market).
    function setPriceBand(uint32 marketId, uint16 bandBps, uint64 referencePriceTicks) external;

    /// @notice Sets (or, with the zero address, removes) a market's Chainlink-style price feed
    /// (admin). An answer older than `maxAgeSeconds`, non-positive, or a failing feed makes the
    /// market's fills skip with `ReferencePriceUnavailable` while a band is set.
    function setPriceFeed(uint32 marketId, address feed, uint32 maxAgeSeconds) external;

    /// @notice Caps the lots a market fills per block (admin); 0 turns the cap off.
    function setVelocityLimit(uint32 marketId, uint64 maxLotsPerBlock) external;

    /// @notice A market's risk limits and their state.
    /// @return halted whether the guardian halted it
    /// @return bandBps its price band (0: none)
    /// @return maxLotsPerBlock its velocity limit (0: none)
    /// @return feed its price feed (zero: none)
    /// @return feedMaxAgeSeconds how old a feed answer may be
    /// @return lastPriceTicks the last settled price (tracked while a band or velocity limit is set)
    /// @return lotsThisBlock the lots filled in the current block (counted while a velocity limit is set)
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
        );

    /// @notice The prices a fill in `marketId` may have now: `[minPriceTicks, maxPriceTicks]`
    /// (`[0, 2^64-1]` without a band). `available` is false when the band has no usable reference.
    function priceBounds(
        uint32 marketId
    ) external view returns (bool available, uint64 minPriceTicks, uint64 maxPriceTicks);

    /// @notice A dead-man's switch: none of the caller's orders fill after `deadline` (unix
    /// seconds) until it sets a new one; 0 turns it off. A later deadline (or 0) applies at once. An
    /// earlier one cannot stop fills matched before it: a deadline less than `firmnessDelay()` ahead
    /// is stored as `now + firmnessDelay() - 1` (or the current deadline, if that comes first), which
    /// is what `cancelAfter` reads and `CancelAfterChanged` reports.
    function setCancelAfter(uint40 deadline) external;

    /// @notice The caller's cap on the lots it fills in `marketId` per window of `windowSeconds`
    /// (0 seconds: no cap). A tighter limit (a lower or equal cap over a longer or equal window than
    /// the one in force) applies after `firmnessDelay()`, a looser one after `LOOSEN_DELAY`; either
    /// replaces a change still pending.
    function setWindowLimit(uint32 marketId, uint48 maxLots, uint24 windowSeconds) external;

    /// @notice `account`'s cancel-after deadline in force (0: off).
    function cancelAfter(address account) external view returns (uint40);

    /// @notice `account`'s window limit on `marketId`, its current window, and any pending change,
    /// as they stand now: a change that is due applied; `windowStart` 0 while no window is open
    /// (none has a fill yet, or the last one ended).
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
        );
}
