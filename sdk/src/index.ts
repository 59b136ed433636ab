/**
 * Crossbook SDK: build, hash, sign and verify orders for the Crossbook Exchange, convert decimal
 * strings to lots and ticks exactly, and deposit, withdraw, cancel and read state on-chain with
 * viem. See sdk/README.md for a walk-through and a reference of every export.
 */

// Pure: types, EIP-712, hashing, order keys, units, validation
export {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  KNOWN_FLAGS,
  MAX_ORDER_LOTS,
  MAX_UINT16,
  MAX_UINT32,
  MAX_UINT40,
  MAX_UINT64,
  MAX_UINT8,
  POST_ONLY,
  SkipReason,
  type Fill,
  type Market,
  type MarketUnits,
  type Order,
  type SignedOrder,
  type SkipReasonName,
} from "./types";
export {
  EIP712_DOMAIN_TYPEHASH,
  EXCHANGE_DOMAIN_NAME,
  EXCHANGE_DOMAIN_VERSION,
  ORDER_TYPEHASH,
  ORDER_TYPE_STRING,
  domainSeparator,
  exchangeDomain,
  orderTypedData,
  orderTypes,
  type ExchangeDomain,
  type ExchangeDomainParameters,
  type OrderTypedDataParameters,
  type OrderTypedDataReturnType,
  type OrderTypes,
} from "./eip712";
export {
  hashOrder,
  hashOrderStruct,
  type HashOrderParameters,
  type HashOrderReturnType,
  type HashOrderStructParameters,
  type HashOrderStructReturnType,
} from "./hashOrder";
export {
  KEEPER_MESSAGE_MAX_SKEW_MS,
  keeperMessageTypedData,
  keeperMessageTypes,
  type CancelAllMessage,
  type CancelOrdersMessage,
  type FeedLoginMessage,
  type ScheduleCancelMessage,
  type KeeperMessageTypedData,
} from "./keeperMessages";
export { sdkReady, type SdkReadyReturnType } from "./sdkReady";
export {
  decodeOrderKey,
  encodeOrderKey,
  type DecodeOrderKeyReturnType,
  type EncodeOrderKeyParameters,
  type EncodeOrderKeyReturnType,
} from "./orderKey";
export {
  createNonceAllocator,
  type CreateNonceAllocatorParameters,
  type NonceAllocator,
  type NonceStore,
} from "./nonceAllocator";
export {
  fillAmounts,
  formatAmount,
  formatLots,
  formatPriceTicks,
  parseAmount,
  parseLots,
  parsePriceTicks,
  type FillAmountsParameters,
  type FillAmountsReturnType,
  type FormatAmountParameters,
  type FormatAmountReturnType,
  type FormatLotsParameters,
  type FormatLotsReturnType,
  type FormatPriceTicksParameters,
  type FormatPriceTicksReturnType,
  type ParseAmountParameters,
  type ParseAmountReturnType,
  type ParseLotsParameters,
  type ParseLotsReturnType,
  type ParsePriceTicksParameters,
  type ParsePriceTicksReturnType,
} from "./units";
export {
  assertValidOrder,
  validateOrder,
  type OrderInput,
  type ValidateOrderParameters,
  type ValidateOrderReturnType,
} from "./validateOrder";
export {
  parseSettlementLogs,
  type EventLocation,
  type ParseSettlementLogsParameters,
  type ParseSettlementLogsReturnType,
  type SkippedFill,
  type Trade,
} from "./parseSettlementLogs";
export { settleArgs, type SettleArgs, type SettleArgsParameters, type SettleArgsReturnType } from "./settleArgs";

// Signing and verification
export {
  orderSignerKind,
  type AnyWalletClient,
  type EthersSignerLike,
  type OrderSigner,
  type OrderSignerKind,
} from "./signer";
export { signOrder, type SignOrderParameters, type SignOrderReturnType } from "./signOrder";
export {
  verifyOrderSignature,
  walletApproves,
  type VerifyOrderSignatureParameters,
  type VerifyOrderSignatureReturnType,
  type WalletApprovesParameters,
} from "./verifyOrderSignature";

// Chain actions
export type { ReadClient, WriteParameters } from "./actions/internal";
export { cancel, type CancelParameters, type CancelReturnType } from "./actions/cancel";
export { cancelUpTo, type CancelUpToParameters, type CancelUpToReturnType } from "./actions/cancelUpTo";
export { deposit, type DepositParameters, type DepositReturnType } from "./actions/deposit";
export { withdraw, type WithdrawParameters, type WithdrawReturnType } from "./actions/withdraw";
export {
  requestWithdraw,
  type RequestWithdrawParameters,
  type RequestWithdrawReturnType,
} from "./actions/requestWithdraw";
export {
  getWithdrawalRequest,
  type GetWithdrawalRequestParameters,
  type GetWithdrawalRequestReturnType,
} from "./actions/getWithdrawalRequest";
export {
  getPendingCancel,
  type GetPendingCancelParameters,
  type GetPendingCancelReturnType,
} from "./actions/getPendingCancel";
export {
  getPendingMinNonce,
  type GetPendingMinNonceParameters,
  type GetPendingMinNonceReturnType,
} from "./actions/getPendingMinNonce";
export {
  getFirmnessDelay,
  type GetFirmnessDelayParameters,
  type GetFirmnessDelayReturnType,
} from "./actions/getFirmnessDelay";
export { getBalance, type GetBalanceParameters, type GetBalanceReturnType } from "./actions/getBalance";
export { getFilled, type GetFilledParameters, type GetFilledReturnType } from "./actions/getFilled";
export { getMinNonce, type GetMinNonceParameters, type GetMinNonceReturnType } from "./actions/getMinNonce";
export {
  getOrderFillState,
  type GetOrderFillStateParameters,
  type GetOrderFillStateReturnType,
} from "./actions/getOrderFillState";
export { getMarket, type GetMarketParameters, type GetMarketReturnType } from "./actions/getMarket";
export { getMarketCount, type GetMarketCountParameters, type GetMarketCountReturnType } from "./actions/getMarketCount";
export {
  getFeeRecipient,
  type GetFeeRecipientParameters,
  type GetFeeRecipientReturnType,
} from "./actions/getFeeRecipient";
export {
  getExchangeDomain,
  type GetExchangeDomainParameters,
  type GetExchangeDomainReturnType,
} from "./actions/getExchangeDomain";
export { getTrades, type GetTradesParameters, type GetTradesReturnType } from "./actions/getTrades";
export {
  getSkippedFills,
  type GetSkippedFillsParameters,
  type GetSkippedFillsReturnType,
} from "./actions/getSkippedFills";
export { setCancelAfter, type SetCancelAfterParameters, type SetCancelAfterReturnType } from "./actions/setCancelAfter";
export { setWindowLimit, type SetWindowLimitParameters, type SetWindowLimitReturnType } from "./actions/setWindowLimit";
export { getCancelAfter, type GetCancelAfterParameters, type GetCancelAfterReturnType } from "./actions/getCancelAfter";
export { getWindowLimit, type GetWindowLimitParameters, type GetWindowLimitReturnType } from "./actions/getWindowLimit";
export { getRiskLimits, type GetRiskLimitsParameters, type GetRiskLimitsReturnType } from "./actions/getRiskLimits";
export { getPriceBounds, type GetPriceBoundsParameters, type GetPriceBoundsReturnType } from "./actions/getPriceBounds";
export { getPaused, type GetPausedParameters, type GetPausedReturnType } from "./actions/getPaused";

// Keeper client: HTTP API and feed (keeper/API.md)
export {
  createKeeperClient,
  type CreateKeeperClientParameters,
  type KeeperClientOptions,
  type KeeperCancelAllParameters,
  type KeeperScheduleCancelParameters,
  type KeeperLoginParameters,
  type KeeperOrderPage,
  type KeeperSession,
  type KeeperCancelOrdersParameters,
  type KeeperClient,
  type KeeperLimits,
  type KeeperFetch,
} from "./keeper/client";
export {
  createKeeperFeed,
  type CreateKeeperFeedParameters,
  type KeeperBookHandlers,
  type KeeperFeed,
  type KeeperFeedClock,
  type KeeperFeedStatus,
  type KeeperFillsParameters,
  type KeeperOrdersParameters,
  type KeeperSubscription,
  type KeeperTradeHandlers,
  type WebSocketConstructor,
} from "./keeper/feed";
export {
  type KeeperFeedOrderEntry,
  type KeeperFeedOrderEntryParameters,
  type KeeperScheduleCancelResult,
} from "./keeper/feedOrderEntry";
export {
  signKeeperMessage,
  signerAddress,
  type KeeperMessages,
  type SignKeeperMessageParameters,
  type SignKeeperMessageReturnType,
} from "./keeper/signKeeperMessage";
export type { KeeperLevelChange } from "./keeper/localBook";
export { KEEPER_CANCEL_REASONS, KEEPER_CANCEL_REASON_PREFIXES } from "./keeper/wire";
export type {
  KeeperBatchAction,
  KeeperBatchRefusal,
  KeeperBatchResult,
  KeeperOrderRef,
  KeeperBook,
  KeeperCancelReason,
  KeeperCancelResult,
  KeeperFill,
  KeeperLevel,
  KeeperMarket,
  KeeperOrderState,
  KeeperOrderStatus,
  KeeperOrderUpdate,
  KeeperSubmitResult,
  KeeperTrade,
} from "./keeper/wire";

// Quoting toolkit: the chain's clock, tick and lot rounding, ladders, heartbeats
export { ChainClock, type ChainBlock } from "./quoting/chainClock";
export { chainNow, type ChainNowParameters, type ChainNowReturnType } from "./quoting/chainNow";
export { roundPriceToTick, roundSizeToLot, type RoundingDirection } from "./quoting/roundToTick";
export {
  buildLadder,
  type BuildLadderParameters,
  type BuildLadderReturnType,
  type LadderQuote,
} from "./quoting/buildLadder";
export { Heartbeat, type HeartbeatMiss, type HeartbeatParameters, type HeartbeatTimer } from "./quoting/heartbeat";

// Errors
export {
  ChainActionError,
  ContractRevertError,
  CrossbookError,
  KEEPER_API_ERROR_CODES,
  DomainError,
  KeeperApiError,
  KeeperRequestError,
  OrderKeyError,
  OrderValidationError,
  SignerError,
  UnitsError,
  type ChainActionErrorCode,
  type CrossbookErrorCode,
  type CrossbookErrorOptions,
  type DomainErrorCode,
  type ErrorDetails,
  type KeeperApiErrorCode,
  type KeeperErrorCode,
  type KeeperRequestErrorCode,
  type OrderProblem,
  type OrderProblemCode,
  type SignerErrorCode,
  type UnitsErrorCode,
} from "./errors";
export {
  decodeContractError,
  type DecodeContractErrorParameters,
  type DecodeContractErrorReturnType,
  type DecodedContractError,
} from "./decodeContractError";

// ABI (generated from the Hardhat artifacts by `npm run sdk:abi`)
export { erc20ErrorsAbi, exchangeAbi } from "./generated/exchangeAbi";
