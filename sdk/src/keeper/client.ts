/**
 * The keeper's HTTP API (keeper/API.md, version 1) as typed calls: submit a signed order, soft-cancel
 * (signed), order status, an account's orders, book, trades, markets, health. Integers travel as
 * decimal strings and come back as `bigint`. Every keeper refusal throws a `KeeperApiError` carrying
 * the keeper's own `code`; no answer at all throws a `KeeperRequestError` (`KEEPER_UNREACHABLE`,
 * `KEEPER_TIMEOUT`, `KEEPER_BAD_RESPONSE`). Uses the global `fetch` (browsers, Node 18+) unless given one.
 */
import type { Account, Address, Hex } from "viem";
import type { ExchangeDomainParameters } from "../eip712";
import { KeeperApiError, KeeperRequestError } from "../errors";
import type { OrderSigner } from "../signer";
import type { Order, SignedOrder } from "../types";
import type { KeeperScheduleCancelResult } from "./feedOrderEntry";
import { signKeeperMessage, signerAddress } from "./signKeeperMessage";
import {
  Reader,
  decodeBatchResult,
  decodeBook,
  decodeCancelResult,
  decodeFill,
  decodeMarket,
  decodeOrderStatus,
  decodeSubmitResult,
  decodeTrade,
  encodeBatchAction,
  encodeOrder,
  type BatchRequestJson,
  type KeeperBatchAction,
  type KeeperBatchResult,
  type KeeperBook,
  type KeeperCancelResult,
  type KeeperFill,
  type KeeperMarket,
  type KeeperOrderRef,
  type KeeperOrderStatus,
  type KeeperSubmitResult,
  type KeeperTrade,
  type CancelAllRequestJson,
  type CancelOrdersRequestJson,
  type ScheduleCancelRequestJson,
  type SubmitOrderRequestJson,
} from "./wire";

/** The part of `fetch` the client uses (the global one, undici's, a test double…). */
export type KeeperFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** The parameters of `createKeeperClient`: one keeper's `url`, or the `keepers` of a market run by several. */
export type CreateKeeperClientParameters = KeeperClientOptions &
  (
    | {
        /** The keeper's base URL, e.g. `http://127.0.0.1:8080` (without `/v1`). */
        url: string;
        keepers?: undefined;
      }
    | {
        /**
         * Several keepers of one market (one leads, the others follow: keeper/README.md, "Several
         * keepers on one PostgreSQL"), by base URL. Requests go to the first until a keeper names
         * another leader: a write a follower refuses with `NOT_LEADER` is sent again to the leader
         * its `details.leader` names — only if that URL is one of these (else
         * `KEEPER_UNTRUSTED_LEADER`: a follower is never trusted to send a client elsewhere) — and
         * later requests go there too.
         */
        keepers: readonly string[];
        url?: undefined;
      }
  );

/** What `createKeeperClient` takes besides the keeper's URL(s). */
export interface KeeperClientOptions {
  /** The Exchange the keeper serves: soft cancels are signed for it. */
  domain: ExchangeDomainParameters;
  /** Defaults to the global `fetch`. */
  fetch?: KeeperFetch | undefined;
  /** How long one request may take before it fails with `KEEPER_TIMEOUT`. Default 10 000 ms. */
  timeoutMs?: number | undefined;
}

/** The parameters of `KeeperClient.cancelOrders`. */
export interface KeeperCancelOrdersParameters {
  /** Signs the `CancelOrders` message: a viem local account, a viem wallet client or an ethers v6 signer. */
  signer: OrderSigner;
  /** The orders to cancel (at most 100), each as `hashOrder` gives it. */
  orderHashes: readonly Hex[];
  /** The orders' maker; defaults to the signer's address (pass it for an ERC-1271 wallet). */
  maker?: Address | undefined;
  /** With a wallet client: the account to sign with. */
  account?: Account | Address | undefined;
  /** Unix milliseconds; defaults to now. The keeper refuses a cancel more than 5 minutes off its clock. */
  issuedAt?: bigint | undefined;
}

/** The parameters of `KeeperClient.cancelAll`. */
export interface KeeperCancelAllParameters {
  signer: OrderSigner;
  /** Only this market's orders; default `0n`, every market. */
  marketId?: bigint | undefined;
  maker?: Address | undefined;
  account?: Account | Address | undefined;
  /** Unix milliseconds; defaults to now. Orders the keeper accepts after it are not cancelled. */
  issuedAt?: bigint | undefined;
}

/** The parameters of `KeeperClient.scheduleCancel`. */
export interface KeeperScheduleCancelParameters {
  signer: OrderSigner;
  /** Unix milliseconds of the keeper's clock when every order of the account is soft-cancelled; `0n` clears the schedule. */
  at: bigint;
  /** The account (defaults to the signer's address; pass it for an ERC-1271 wallet). */
  maker?: Address | undefined;
  /** With a wallet client: the account to sign with. */
  account?: Account | Address | undefined;
  /**
   * Unix milliseconds; defaults to now, or one more than the last this client sent for the account
   * (the keeper refuses an `issuedAt` not later than the last it took, as a replay).
   */
  issuedAt?: bigint | undefined;
}

/** The parameters of `KeeperClient.login`. */
export interface KeeperLoginParameters {
  /** Signs the `FeedLogin` message: a viem local account, a viem wallet client or an ethers v6 signer. */
  signer: OrderSigner;
  /** The account to log in as; defaults to the signer's address (pass it for an ERC-1271 wallet). */
  maker?: Address | undefined;
  /** With a wallet client: the account to sign with. */
  account?: Account | Address | undefined;
}

/** A session: the account it proves, and when it ends (unix ms). */
export interface KeeperSession {
  account: Address;
  expiresAt: number;
}

/** A page of an account's orders, newest first, and the cursor of the next page when there may be one. */
export interface KeeperOrderPage {
  orders: KeeperOrderStatus[];
  next?: string | undefined;
}

/** A keeper client: each method is one request of keeper/API.md. */
export interface KeeperClient {
  /** The keeper's base URL: with `keepers`, the one requests go to now (the last leader named). */
  readonly url: string;
  /** The Exchange the keeper serves. */
  readonly domain: ExchangeDomainParameters;
  /**
   * Submits a signed order (`POST /v1/orders`); resolves to what matched at once.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient, signOrder, type Order } from "@crossbook/sdk";
   * const domain = { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" } as const;
   * const keeper = createKeeperClient({ url: "http://127.0.0.1:8080", domain });
   * const account = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const order: Order = {
   *   maker: account.address, marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 10n,
   *   expiry: 4_102_444_800n, nonce: 1n, priceTicks: 183_450n, lots: 25n,
   * };
   * const { hash, status, trades } = await keeper.submitOrder({ order, signature: await signOrder({ signer: account, order, domain }) });
   */
  submitOrder(signed: SignedOrder): Promise<KeeperSubmitResult>;
  /**
   * Soft-cancels orders (`POST /v1/cancels`): signs `CancelOrders` with `issuedAt` now and sends it.
   * The keeper drops them at once; an on-chain `cancel` stays the hard guarantee.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const results = await keeper.cancelOrders({ signer, orderHashes: ["0x6c1f9e2b0c7e1ac0e4e3a8f3a0a7f4d2c1b0a9f8e7d6c5b4a3928170f6e5d4c3"] });
   * // [{ hash: "0x6c1f…", outcome: "cancelled" }]
   */
  cancelOrders(parameters: KeeperCancelOrdersParameters): Promise<KeeperCancelResult[]>;
  /**
   * Soft-cancels every live order of the signer (in one market, or all) accepted up to now
   * (`POST /v1/cancels/all`); resolves to the hashes cancelled.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const cancelled = await keeper.cancelAll({ signer, marketId: 1n });
   */
  cancelAll(parameters: KeeperCancelAllParameters): Promise<Hex[]>;
  /**
   * The dead-man switch's heartbeat over HTTP (`POST /v1/cancels/schedule`, as the feed's
   * `scheduleCancel`): signs `ScheduleCancel(account, at, issuedAt)`; every open order of the account
   * is soft-cancelled (reason `dead-man`) once the keeper's clock passes `at` without a later call
   * moving it; `at: 0n` clears it. Resolves to the schedule as the keeper took it.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * // Renew every few seconds: if the bot stops, its orders go 10 s after the last heartbeat.
   * const { at } = await keeper.scheduleCancel({ signer, at: BigInt(Date.now() + 10_000) });
   */
  scheduleCancel(parameters: KeeperScheduleCancelParameters): Promise<KeeperScheduleCancelResult>;
  /**
   * Logs in as an account (`POST /v1/sessions/challenge`, then `POST /v1/sessions` with the signed
   * `FeedLogin`): the keeper's per-account reads (`getOrder`, `getOpenOrders`, `getAccountOrders`)
   * need the account's session. The client keeps the session and the signer, and logs in again by
   * itself when the session ends (the keeper answers `SESSION_REQUIRED`).
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const { account, expiresAt } = await keeper.login({ signer });
   * const open = await keeper.getOpenOrders(account);
   */
  login(parameters: KeeperLoginParameters): Promise<KeeperSession>;
  /**
   * One order's status and a page of its fills, newest first (`GET /v1/orders/{hash}`); needs its
   * maker's session (`login`). `ORDER_NOT_FOUND` if the keeper never accepted it (or it is another
   * account's). No signature: the keeper serves none.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * await keeper.login({ signer: privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f") });
   * const { status, filledLots, settledLots, fills } = await keeper.getOrder(
   *   "0x6c1f9e2b0c7e1ac0e4e3a8f3a0a7f4d2c1b0a9f8e7d6c5b4a3928170f6e5d4c3",
   * );
   */
  getOrder(
    hash: Hex,
    options?: { limit?: number | undefined; before?: number | undefined },
  ): Promise<KeeperOrderStatus>;
  /**
   * An account's open (and partially filled) orders, newest first (`GET /v1/accounts/{address}/orders`):
   * the first page. `status: "all"` lists its past orders too. Needs the account's session (`login`).
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const { account } = await keeper.login({
   *   signer: privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f"),
   * });
   * const open = await keeper.getOpenOrders(account);
   * const history = await keeper.getOpenOrders(account, { status: "all", limit: 500 });
   */
  getOpenOrders(
    account: Address,
    options?: { status?: "open" | "all"; limit?: number | undefined },
  ): Promise<KeeperOrderStatus[]>;
  /**
   * A page of an account's orders, newest first, with the cursor of the next page
   * (`GET /v1/accounts/{address}/orders?before=`). Needs the account's session (`login`).
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const { account } = await keeper.login({
   *   signer: privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f"),
   * });
   * let page = await keeper.getAccountOrders(account, { status: "all", limit: 100 });
   * while (page.next !== undefined) page = await keeper.getAccountOrders(account, { status: "all", limit: 100, before: page.next });
   */
  getAccountOrders(
    account: Address,
    options?: { status?: "open" | "all"; limit?: number | undefined; before?: string | undefined },
  ): Promise<KeeperOrderPage>;
  /**
   * A market's aggregated book, best levels first (`GET /v1/markets/{marketId}/book`), with the
   * feed's `seq` it includes.
   *
   * @example
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const { bids, asks, seq } = await keeper.getBook(1n, { depth: 10 });
   */
  getBook(marketId: bigint, options?: { depth?: number | undefined }): Promise<KeeperBook>;
  /**
   * A market's most recent trades, newest first (`GET /v1/markets/{marketId}/trades`); `before` pages
   * back through older ones (trades with a smaller `fillId`).
   *
   * @example
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const trades = await keeper.getTrades(1n, { limit: 20 });
   * // the page before it: keeper.getTrades(1n, { limit: 20, before: trades.at(-1)!.fillId })
   */
  getTrades(
    marketId: bigint,
    options?: { limit?: number | undefined; before?: number | undefined },
  ): Promise<KeeperTrade[]>;
  /**
   * The markets the keeper serves, with their risk limits and price bounds (`GET /v1/markets`).
   *
   * @example
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const markets = await keeper.getMarkets();
   */
  getMarkets(): Promise<KeeperMarket[]>;
  /**
   * One market the keeper serves (`GET /v1/markets/{marketId}`); `MARKET_NOT_SERVED` otherwise.
   *
   * @example
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const { lotSize, tickSize, riskLimits } = await keeper.getMarket(1n);
   */
  getMarket(marketId: bigint): Promise<KeeperMarket>;
  /**
   * Resolves while the keeper's process serves (`GET /v1/health`).
   *
   * @example
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * await keeper.health(); // { status: "ok" }
   */
  health(): Promise<{ status: string }>;
  /**
   * Resolves when the keeper is ready to take orders (`GET /v1/ready`); throws `NOT_READY` (with
   * `details` naming what is missing) otherwise.
   *
   * @example
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * await keeper.ready();
   */
  ready(): Promise<Record<string, unknown>>;
  /**
   * Places, cancels and amends orders of the logged-in account in one request
   * (`POST /v1/orders/batch`): one turn of the keeper's queue and one commit, at most
   * `maxBatchActions` (20 by default) actions, done in order. Cancels name an order by hash or by
   * nonce and are authorised by the session (`login` first). Resolves to one result per action —
   * a refused action does not stop the others; it carries its own `status` and `code`.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const { account } = await keeper.login({ signer });
   * const results = await keeper.submitOrders([{ cancel: { nonce: 7n } }, { cancel: { nonce: 8n } }]);
   * for (const r of results) if (!r.ok) console.log(r.code, r.message);
   */
  submitOrders(actions: readonly KeeperBatchAction[]): Promise<KeeperBatchResult[]>;
  /**
   * Cancel-replace in one step (a batch of one amend): the order `target` (by hash or nonce) leaves
   * the book exactly when the new signed order enters, or neither happens and the old one rests as
   * it was. Throws the keeper's refusal (`ORDER_NOT_OPEN` when the target is no longer open, or the
   * new order's code). Fills of the old order matched before stay and settle. Needs `login`.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient, signOrder } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const { account } = await keeper.login({ signer });
   * const order = { maker: account, marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 10n,
   *   expiry: 4_102_444_800n, nonce: 9n, priceTicks: 183_460n, lots: 2n };
   * const domain = { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" } as const;
   * const { order: placed, replaced } = await keeper.amendOrder({
   *   target: { nonce: 8n }, order, signature: await signOrder({ signer, order, domain }),
   * });
   */
  amendOrder(parameters: { target: KeeperOrderRef; order: Order; signature: Hex }): Promise<{
    order: KeeperSubmitResult;
    replaced: Hex;
  }>;
  /**
   * The account's order under `nonce` — the maker's own id for it, its client order id — with a
   * page of its fills (`GET /v1/accounts/{a}/orders/by-nonce/{nonce}`); the newest one when an amend
   * kept the nonce. Needs the account's session.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const { account } = await keeper.login({ signer });
   * const { hash, status, filledLots } = await keeper.getOrderByNonce(account, 8n);
   */
  getOrderByNonce(account: Address, nonce: bigint): Promise<KeeperOrderStatus>;
  /**
   * The account's rate limit (and what is left of it), batch size, open-order cap and each market's
   * fees and minimums, in one call (`GET /v1/accounts/{a}/limits`). Needs the account's session.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const { account } = await keeper.login({ signer });
   * const { rateLimit, maxBatchActions, markets } = await keeper.getLimits(account);
   */
  getLimits(account: Address): Promise<KeeperLimits>;
  /**
   * A page of the account's fills, newest first, each as the feed's fills channel gives it (side,
   * order, price, lots, fee, settlement state); `before` (the page's `next`, passed back as it is)
   * walks back through older ones (`GET /v1/accounts/{a}/fills`). Needs the account's session.
   * A keeper's `next` is a fill id (a number); a cluster's gateway gives a cursor over its shards'
   * fill ids (a string such as `"a.120-b.0"`).
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperClient } from "@crossbook/sdk";
   * const keeper = createKeeperClient({
   *   url: "http://127.0.0.1:8080",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const { account } = await keeper.login({
   *   signer: privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f"),
   * });
   * let page = await keeper.getFills(account, { limit: 100 });
   * while (page.next !== undefined) page = await keeper.getFills(account, { limit: 100, before: page.next });
   */
  getFills(
    account: Address,
    options?: { limit?: number | undefined; before?: number | string | undefined },
  ): Promise<{ fills: KeeperFill[]; next?: number | string | undefined }>;
}

/** `GET /v1/accounts/{a}/limits`. */
export interface KeeperLimits {
  account: Address;
  /** Orders and cancels per second (each batch action counts one); `remaining` now, full again after `resetSeconds`. */
  rateLimit: { perSecond: number; burst: number; remaining: number; resetSeconds: number };
  maxBatchActions: number;
  maxOpenOrders: number;
  openOrders: number;
  markets: {
    marketId: bigint;
    makerFeeBps: bigint;
    takerFeeBps: bigint;
    lotSize: bigint;
    tickSize: bigint;
    minLots?: bigint | undefined;
    minNotional?: bigint | undefined;
  }[];
}

/**
 * A client of a keeper's HTTP API. Creating it makes no request.
 *
 * @example
 * import { createKeeperClient } from "@crossbook/sdk";
 * const keeper = createKeeperClient({
 *   url: "http://127.0.0.1:8080",
 *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
 * });
 * const book = await keeper.getBook(1n);
 */
export function createKeeperClient(parameters: CreateKeeperClientParameters): KeeperClient {
  const urls = parameters.keepers ?? [parameters.url];
  if (urls.length === 0) {
    throw new KeeperRequestError("keepers must name at least one keeper URL", { code: "KEEPER_INVALID_ARGUMENT" });
  }
  const keepers = urls.map((url) => {
    const trimmed = String(url).replace(/\/+$/, "");
    if (!/^https?:\/\//.test(trimmed)) {
      throw new KeeperRequestError(`The keeper URL must start with http:// or https://, got "${url}"`, {
        code: "KEEPER_INVALID_ARGUMENT",
        details: { url },
      });
    }
    return trimmed;
  });
  /** Where requests go now: the first keeper, then the last leader a follower named. */
  let base = keepers[0] as string;
  const domain = parameters.domain;
  const timeoutMs = parameters.timeoutMs ?? 10_000;
  const doFetch = parameters.fetch ?? defaultFetch();

  /**
   * One request; with several `keepers`, a `NOT_LEADER` is followed to the leader it names (if it is
   * one of them) and the request sent again there, at most once per keeper.
   */
  async function request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    for (let hops = 0; ; hops++) {
      try {
        return await requestAt(base, method, path, body, headers);
      } catch (error) {
        if (!(error instanceof KeeperApiError) || error.code !== "NOT_LEADER" || parameters.keepers === undefined) {
          throw error;
        }
        const named = error.details.leader;
        const leader = typeof named === "string" ? named.replace(/\/+$/, "") : undefined;
        if (leader === undefined || leader === base || hops >= keepers.length) throw error;
        if (!keepers.includes(leader)) {
          throw new KeeperRequestError(
            `The keeper at ${base} names ${leader} as the leader, which is not one of the configured keepers: not followed`,
            { code: "KEEPER_UNTRUSTED_LEADER", details: { leader, keepers, term: error.details.term }, cause: error },
          );
        }
        base = leader;
      }
    }
  }

  async function requestAt(
    base: string,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const url = `${base}${path}`;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const init: Parameters<KeeperFetch>[1] = {
        method,
        headers: { accept: "application/json", ...headers },
        signal: controller.signal,
      };
      if (body !== undefined) {
        init.headers["content-type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const response = await doFetch(url, init);
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (timedOut) {
        throw new KeeperRequestError(`The keeper did not answer ${method} ${path} within ${timeoutMs} ms`, {
          code: "KEEPER_TIMEOUT",
          details: { method, url, timeoutMs },
          cause: error,
        });
      }
      throw new KeeperRequestError(`Could not reach the keeper for ${method} ${path}: ${reason}`, {
        code: "KEEPER_UNREACHABLE",
        details: { method, url },
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new KeeperRequestError(`The keeper answered ${method} ${path} (HTTP ${status}) with something not JSON`, {
        code: "KEEPER_BAD_RESPONSE",
        details: { method, url, status, body: text.slice(0, 200) },
        cause: error,
      });
    }
    if (status >= 200 && status < 300) return json;
    throw apiError(json, status, retryAfter, method, path);
  }

  async function signedMaker(signer: OrderSigner, maker: Address | undefined, account: Account | Address | undefined) {
    return maker ?? (await signerAddress(signer, account));
  }

  /** Per account (lowercase): the `issuedAt` of the last `ScheduleCancel` sent, so that the next is later. */
  const lastScheduleIssuedAt = new Map<string, bigint>();

  /** The session the client holds, and how to get it again. */
  let session: { token: string; account: Address; expiresAt: number; login: KeeperLoginParameters } | undefined;

  async function login(parameters: KeeperLoginParameters): Promise<KeeperSession> {
    const account = await signedMaker(parameters.signer, parameters.maker, parameters.account);
    const challenge = Reader.of(await request("POST", "/v1/sessions/challenge", {}), "response").hex("challenge");
    const signature = await signKeeperMessage({
      signer: parameters.signer,
      domain,
      primaryType: "FeedLogin",
      message: { account, challenge },
      account: parameters.account,
    });
    const r = Reader.of(await request("POST", "/v1/sessions", { account, challenge, signature }), "response");
    session = {
      token: r.string("token"),
      account: r.address("account"),
      expiresAt: r.number("expiresAt"),
      login: parameters,
    };
    return { account: session.account, expiresAt: session.expiresAt };
  }

  /** A per-account request with the session; logs in again once if the keeper says the session ended. */
  async function withSession(path: string, method: "GET" | "POST" = "GET", body?: unknown): Promise<unknown> {
    const current = session;
    if (current === undefined) {
      throw new KeeperRequestError("This read needs the account's session: call login({ signer }) first", {
        code: "KEEPER_INVALID_ARGUMENT",
        details: { path },
      });
    }
    try {
      return await request(method, path, body, { authorization: `Bearer ${current.token}` });
    } catch (error) {
      if (!(error instanceof KeeperApiError) || error.code !== "SESSION_REQUIRED") throw error;
      await login(current.login);
      return request(method, path, body, { authorization: `Bearer ${(session ?? current).token}` });
    }
  }

  async function accountOrders(
    account: Address,
    options: { status?: "open" | "all"; limit?: number | undefined; before?: string | undefined },
  ): Promise<KeeperOrderPage> {
    const query = new URLSearchParams({ status: options.status ?? "open" });
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    if (options.before !== undefined) query.set("before", options.before);
    const r = Reader.of(await withSession(`/v1/accounts/${encodeURIComponent(account)}/orders?${query}`), "response");
    const next = r.optionalString("next");
    return { orders: r.array("orders", decodeOrderStatus), ...(next === undefined ? {} : { next }) };
  }

  async function submitOrders(actions: readonly KeeperBatchAction[]): Promise<KeeperBatchResult[]> {
    const account = session?.account;
    if (account === undefined) {
      throw new KeeperRequestError("A batch needs the account's session: call login({ signer }) first", {
        code: "KEEPER_INVALID_ARGUMENT",
        details: { path: "/v1/orders/batch" },
      });
    }
    const body: BatchRequestJson = { account, actions: actions.map(encodeBatchAction) };
    return Reader.of(await withSession("/v1/orders/batch", "POST", body), "response").array(
      "results",
      decodeBatchResult,
    );
  }

  return {
    get url() {
      return base;
    },
    domain,

    async submitOrder({ order, signature }) {
      const body = { order: encodeOrder(order), signature } satisfies SubmitOrderRequestJson;
      const json = await request("POST", "/v1/orders", body);
      return decodeSubmitResult(json, "response");
    },

    async cancelOrders({ signer, orderHashes, maker, account, issuedAt }) {
      const message = {
        maker: await signedMaker(signer, maker, account),
        orderHashes,
        issuedAt: issuedAt ?? BigInt(Date.now()),
      };
      const signature = await signKeeperMessage({ signer, domain, primaryType: "CancelOrders", message, account });
      const json = await request("POST", "/v1/cancels", {
        cancel: { maker: message.maker, orderHashes: [...orderHashes], issuedAt: message.issuedAt.toString() },
        signature,
      } satisfies CancelOrdersRequestJson);
      return Reader.of(json, "response").array("results", decodeCancelResult);
    },

    async cancelAll({ signer, marketId, maker, account, issuedAt }) {
      const message = {
        maker: await signedMaker(signer, maker, account),
        marketId: marketId ?? 0n,
        issuedAt: issuedAt ?? BigInt(Date.now()),
      };
      const signature = await signKeeperMessage({ signer, domain, primaryType: "CancelAll", message, account });
      const json = await request("POST", "/v1/cancels/all", {
        cancelAll: {
          maker: message.maker,
          marketId: message.marketId.toString(),
          issuedAt: message.issuedAt.toString(),
        },
        signature,
      } satisfies CancelAllRequestJson);
      return Reader.of(json, "response").array("cancelled", (value, path) => {
        if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
          return Reader.of({ hash: value }, path).hex("hash"); // throws KEEPER_BAD_RESPONSE naming the path
        }
        return value as Hex;
      });
    },

    async scheduleCancel({ signer, at, maker, account, issuedAt }) {
      const owner = await signedMaker(signer, maker, account);
      const key = owner.toLowerCase();
      const last = lastScheduleIssuedAt.get(key) ?? 0n;
      const now = issuedAt ?? BigInt(Date.now());
      const message = { account: owner, at, issuedAt: issuedAt ?? (now > last ? now : last + 1n) };
      const signature = await signKeeperMessage({ signer, domain, primaryType: "ScheduleCancel", message, account });
      const json = await request("POST", "/v1/cancels/schedule", {
        scheduleCancel: { account: owner, at: at.toString(), issuedAt: message.issuedAt.toString() },
        signature,
      } satisfies ScheduleCancelRequestJson);
      if (message.issuedAt > last) lastScheduleIssuedAt.set(key, message.issuedAt);
      const r = Reader.of<{ account: Address; at: string; issuedAt: string }>(json, "response");
      return { account: r.address("account"), at: r.bigint("at"), issuedAt: r.bigint("issuedAt") };
    },

    login,

    async getOrder(hash, options = {}) {
      const params = new URLSearchParams();
      if (options.limit !== undefined) params.set("limit", String(options.limit));
      if (options.before !== undefined) params.set("before", String(options.before));
      const query = params.size === 0 ? "" : `?${params.toString()}`;
      return decodeOrderStatus(await withSession(`/v1/orders/${encodeURIComponent(hash)}${query}`), "response");
    },

    async getOpenOrders(account, options = {}) {
      return (await accountOrders(account, options)).orders;
    },

    getAccountOrders(account, options = {}) {
      return accountOrders(account, options);
    },

    async getBook(marketId, options = {}) {
      const query = options.depth === undefined ? "" : `?depth=${options.depth}`;
      return decodeBook(await request("GET", `/v1/markets/${marketId}/book${query}`), "response");
    },

    async getTrades(marketId, options = {}) {
      const params = new URLSearchParams();
      if (options.limit !== undefined) params.set("limit", String(options.limit));
      if (options.before !== undefined) params.set("before", String(options.before));
      const query = params.size === 0 ? "" : `?${params.toString()}`;
      const json = await request("GET", `/v1/markets/${marketId}/trades${query}`);
      return Reader.of(json, "response").array("trades", decodeTrade);
    },

    async getMarkets() {
      return Reader.of(await request("GET", "/v1/markets"), "response").array("markets", decodeMarket);
    },

    async getMarket(marketId) {
      return decodeMarket(await request("GET", `/v1/markets/${marketId}`), "response");
    },

    async health() {
      return { status: Reader.of(await request("GET", "/v1/health"), "response").string("status") };
    },

    async ready() {
      const json = await request("GET", "/v1/ready");
      Reader.of(json, "response"); // an object, or KEEPER_BAD_RESPONSE
      return json as Record<string, unknown>;
    },
    submitOrders,
    async amendOrder({ target, order, signature }) {
      const [result] = await submitOrders([{ amend: { target, order, signature } }]);
      if (result === undefined || result.kind !== "amend") {
        throw new KeeperRequestError("The keeper answered a batch of one amend without its result", {
          code: "KEEPER_BAD_RESPONSE",
          details: { path: "/v1/orders/batch" },
        });
      }
      if (!result.ok) {
        throw new KeeperApiError(result.message, {
          code: result.code,
          status: result.status,
          details: result.hash === undefined ? undefined : { hash: result.hash },
        });
      }
      return { order: result.order, replaced: result.replaced };
    },
    async getOrderByNonce(account, nonce) {
      const path = `/v1/accounts/${encodeURIComponent(account)}/orders/by-nonce/${nonce}`;
      return decodeOrderStatus(await withSession(path), "response");
    },
    async getFills(account, options = {}) {
      const params = new URLSearchParams();
      if (options.limit !== undefined) params.set("limit", String(options.limit));
      if (options.before !== undefined) params.set("before", String(options.before));
      const query = params.size === 0 ? "" : `?${params.toString()}`;
      const r = Reader.of(await withSession(`/v1/accounts/${encodeURIComponent(account)}/fills${query}`), "response");
      const next = r.optionalString("next");
      const cursor = next === undefined ? undefined : /^[0-9]+$/.test(next) ? Number(next) : next;
      return { fills: r.array("fills", decodeFill), ...(cursor === undefined ? {} : { next: cursor }) };
    },
    async getLimits(account) {
      const r = Reader.of<Record<string, Record<string, unknown>>>(
        await withSession(`/v1/accounts/${encodeURIComponent(account)}/limits`),
        "response",
      );
      const rate = r.object("rateLimit");
      return {
        account: r.address("account"),
        rateLimit: {
          perSecond: rate.number("perSecond"),
          burst: rate.number("burst"),
          remaining: rate.number("remaining"),
          resetSeconds: rate.number("resetSeconds"),
        },
        maxBatchActions: r.number("maxBatchActions"),
        maxOpenOrders: r.number("maxOpenOrders"),
        openOrders: r.number("openOrders"),
        markets: r.array("markets", (value, path) => {
          const m = Reader.of(value, path);
          return {
            marketId: m.bigint("marketId"),
            makerFeeBps: m.bigint("makerFeeBps"),
            takerFeeBps: m.bigint("takerFeeBps"),
            lotSize: m.bigint("lotSize"),
            tickSize: m.bigint("tickSize"),
            ...(m.has("minLots") ? { minLots: m.bigint("minLots") } : {}),
            ...(m.has("minNotional") ? { minNotional: m.bigint("minNotional") } : {}),
          };
        }),
      };
    },
  };
}

/** The keeper's error body as a `KeeperApiError`, or a `KEEPER_BAD_RESPONSE` when it is not one. */
export function apiError(json: unknown, status: number, retryAfter: string | null, method: string, path: string) {
  const error = typeof json === "object" && json !== null ? (json as { error?: unknown }).error : undefined;
  if (typeof error !== "object" || error === null || typeof (error as { code?: unknown }).code !== "string") {
    return new KeeperRequestError(`The keeper refused ${method} ${path} (HTTP ${status}) without an error body`, {
      code: "KEEPER_BAD_RESPONSE",
      details: { status, body: json },
    });
  }
  const { code, message, details } = error as { code: string; message?: unknown; details?: unknown };
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  return new KeeperApiError(typeof message === "string" && message !== "" ? message : `The keeper refused: ${code}`, {
    code,
    status,
    details: typeof details === "object" && details !== null ? (details as Record<string, unknown>) : undefined,
    retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
  });
}

function defaultFetch(): KeeperFetch {
  const globalFetch = (globalThis as { fetch?: KeeperFetch }).fetch;
  if (typeof globalFetch !== "function") {
    throw new KeeperRequestError("No global fetch in this runtime: pass `fetch` to createKeeperClient", {
      code: "KEEPER_INVALID_ARGUMENT",
    });
  }
  return (url, init) => globalFetch(url, init);
}
