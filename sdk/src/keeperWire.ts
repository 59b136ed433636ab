/**
 * `@crossbook/sdk/keeper-wire`: the keeper's protocol (keeper/API.md) as types, defined once and
 * imported by both sides — the keeper writes its answers as these types and the SDK's client and
 * feed read them by the same keys, so that a field, state or error code one side adds and the other
 * lacks fails to compile. For client authors in TypeScript who speak the protocol themselves; the
 * keeper client of the main entry (`createKeeperClient`, `createKeeperFeed`) already does.
 */
export type { KeeperErrorCode } from "./errors";
export {
  KEEPER_CANCEL_OUTCOMES,
  KEEPER_CANCEL_REASONS,
  KEEPER_CANCEL_REASON_PREFIXES,
  KEEPER_FILL_SIDES,
  KEEPER_ORDER_EVENTS,
  KEEPER_ORDER_STATES,
  KEEPER_TRADE_STATUSES,
  encodeBatchAction,
  encodeOrder,
  type BatchRequestJson,
  type KeeperBatchResultJson,
  type CancelAllRequestJson,
  type CancelOrdersRequestJson,
  type KeeperBookJson,
  type KeeperCancelReason,
  type KeeperCancelResultJson,
  type KeeperErrorBodyJson,
  type KeeperFeedMessageJson,
  type KeeperFeedOrderRequestJson,
  type KeeperFeedRequestJson,
  type KeeperFillJson,
  type KeeperLevelChangeJson,
  type KeeperLevelJson,
  type KeeperMarketJson,
  type KeeperOrderStatusJson,
  type KeeperOrderUpdateJson,
  type KeeperSubmitResultJson,
  type KeeperTradeJson,
  type OrderJson,
  type ScheduleCancelRequestJson,
  type SubmitOrderRequestJson,
  type Wire,
} from "./keeper/wire";
