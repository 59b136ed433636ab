/**
 * The connected account: its open orders (the keeper's private orders channel, logged in with a signed
 * `FeedLogin`), its fills and their settlement (the public trades it is a side of, with the orders
 * channel's `settled`/`skipped` events), its balances on the Exchange and in the wallet with its
 * withdrawal requests, and what it can do: place an order, cancel one or all, deposit, request a
 * withdrawal, withdraw once the request is in force. Each action resolves to a sentence for the person,
 * or throws what `describeError` puts in words.
 */
import {
  ChainClock,
  IMMEDIATE_OR_CANCEL,
  POST_ONLY,
  createKeeperFeed,
  deposit,
  fillAmounts,
  getBalance,
  getFirmnessDelay,
  getWithdrawalRequest,
  hashOrder,
  parseAmount,
  parseLots,
  parsePriceTicks,
  requestWithdraw,
  signOrder,
  withdraw,
  type CrossbookError,
  type ExchangeDomainParameters,
  type KeeperClient,
  type KeeperFeed,
  type KeeperFeedStatus,
  type KeeperOrderState,
  type KeeperOrderStatus,
  type KeeperOrderUpdate,
  type KeeperTrade,
  type Order,
} from "@crossbook/sdk";
import { erc20Abi, type Hash, type Hex, type PublicClient } from "viem";
import type { PageConfig, PageMarket, TokenInfo } from "./config";
import { formatDuration, formatSize, formatTokens, timeOfDay } from "./format";
import type { MarketData } from "./marketData";
import { PageRefusal, describeOrderReason } from "./messages";
import { Observable } from "./observable";
import type { Wallet } from "./wallet";

/** What the ticket offers: a plain limit order, a post-only one (never takes), or immediate-or-cancel (never rests). */
export type OrderType = "limit" | "post-only" | "ioc";

export const ORDER_FLAGS: Record<OrderType, bigint> = { limit: 0n, "post-only": POST_ONLY, ioc: IMMEDIATE_OR_CANCEL };

/** How long an order the page signs stays valid. */
const ORDER_LIFETIME_SECONDS = 7n * 24n * 3600n;
/** How often balances are read again besides after the account's own actions and fills. */
const BALANCE_POLL_MS = 3_000;
/** How many of the account's fills the page keeps. */
const FILLS_KEPT = 200;

/** The open orders of no account: what components read while none is connected. */
export const NO_ORDERS = new Observable<readonly OpenOrder[]>([]);

export interface OpenOrder {
  readonly hash: Hex;
  readonly order: Order;
  readonly status: KeeperOrderState;
  readonly filledLots: bigint;
  readonly remainingLots: bigint;
}

/** One fill of the account, from its side. */
export interface AccountFill {
  readonly fillId: number;
  readonly marketId: bigint;
  /** The account's side. */
  readonly isBuy: boolean;
  readonly role: "maker" | "taker";
  readonly priceTicks: bigint;
  readonly lots: bigint;
  readonly status: KeeperTrade["status"];
  readonly txHash: Hex | undefined;
  readonly skipReason: string | undefined;
  readonly at: number;
}

export interface BalanceRow {
  readonly token: TokenInfo;
  /** On the Exchange: what the account can trade and withdraw (`undefined` until read). */
  readonly exchange: bigint | undefined;
  /** In the wallet: what it can deposit. */
  readonly wallet: bigint | undefined;
  /** What its open orders reserve of the Exchange balance (a buy's fee at its `maxFeeBps` included). */
  readonly inOrders: bigint;
  /** The standing withdrawal request in this token, if any. */
  readonly withdrawal: WithdrawalRequest | undefined;
}

/**
 * A standing withdrawal request (`requestWithdraw`): up to `amount` atoms may leave from `effectiveAt`
 * (unix seconds, the chain's time) on. It reserves nothing: until it is used, fills still settle
 * against the balance. A new request in the same token replaces it (asking for no more keeps its time,
 * asking for more starts the wait again, 0 drops it); each withdrawal takes its amount off it.
 */
export interface WithdrawalRequest {
  readonly amount: bigint;
  readonly effectiveAt: bigint;
}

/** What the ticket sends: decimals as the person typed them. */
export interface TicketInput {
  readonly market: PageMarket;
  readonly isBuy: boolean;
  readonly type: OrderType;
  readonly price: string;
  readonly size: string;
}

export interface AccountContext {
  readonly config: PageConfig;
  readonly domain: ExchangeDomainParameters;
  readonly keeper: KeeperClient;
  readonly wsUrl: string;
  readonly chain: PublicClient;
  readonly market: MarketData;
  /** Something the person should know that no button press asked for (an order pulled, a feed refusal). */
  readonly notify: (text: string, kind: "info" | "error") => void;
  readonly onError: (error: CrossbookError) => void;
}

/** The order's market in the configuration. */
export function marketOf(config: PageConfig, marketId: bigint): PageMarket | undefined {
  return config.markets.find((m) => m.id === marketId);
}

/** Every token of the configured markets, once each, in order of appearance. */
export function tokensOf(config: PageConfig): TokenInfo[] {
  const tokens = new Map<string, TokenInfo>();
  for (const m of config.markets) for (const t of [m.base, m.quote]) tokens.set(t.address.toLowerCase(), t);
  return [...tokens.values()];
}

let lastNonce = 0n;
/** A fresh nonce: the time in microseconds-ish, strictly increasing within the page. */
function nextNonce(): bigint {
  const now = BigInt(Date.now()) * 1_000n;
  lastNonce = now > lastNonce ? now : lastNonce + 1n;
  return lastNonce;
}

export class AccountState {
  readonly orders = new Observable<readonly OpenOrder[]>([]);
  readonly fills = new Observable<readonly AccountFill[]>([]);
  readonly balances: Observable<readonly BalanceRow[]>;
  /** The chain's time, from the blocks each balance refresh reads: when a withdrawal request is in force. */
  readonly clock = new ChainClock();
  /** The Exchange's firmness delay in seconds (how long a withdrawal request waits), once read. */
  readonly firmnessDelay = new Observable<bigint | undefined>(undefined);
  /** Where the private orders channel stands. */
  readonly status = new Observable<KeeperFeedStatus>({ state: "connecting" });
  private readonly open = new Map<Hex, OpenOrder>();
  /** Orders whose fields the page knows: placed from here, or seen in a snapshot. */
  private readonly known = new Map<Hex, Order>();
  private readonly feed: KeeperFeed;
  private readonly me: string;
  private readonly stops: (() => void)[] = [];
  private closed = false;
  /** The keeper session for per-account reads, once asked for (`readOrder`). */
  private session: Promise<unknown> | undefined;

  constructor(
    readonly wallet: Wallet,
    private readonly context: AccountContext,
  ) {
    this.me = wallet.address.toLowerCase();
    this.balances = new Observable<readonly BalanceRow[]>(
      tokensOf(context.config).map((token) => ({
        token,
        exchange: undefined,
        wallet: undefined,
        inOrders: 0n,
        withdrawal: undefined,
      })),
    );
    // The orders channel takes one account per connection: a feed of its own, closed with the account.
    this.feed = createKeeperFeed({
      wsUrl: context.wsUrl,
      domain: context.domain,
      reconnect: { maxDelayMs: 4_000 },
    });
    const orders = this.feed.subscribeOrders({
      signer: wallet.signer,
      account: wallet.address,
      onSnapshot: (snapshot) => this.onSnapshot(snapshot),
      onUpdate: (update) => this.onUpdate(update),
      onStatus: (status) => status.state !== "closed" && this.status.set(status),
      onError: context.onError,
    });
    this.stops.push(() => orders.unsubscribe());
    for (const trade of context.market.trades()) this.onTrade(trade);
    this.stops.push(context.market.onTrade((trade) => this.onTrade(trade)));
    const timer = setInterval(() => void this.refreshBalances(), BALANCE_POLL_MS);
    this.stops.push(() => clearInterval(timer));
    void this.refreshBalances();
  }

  close(): void {
    this.closed = true;
    for (const stop of this.stops) stop();
    this.feed.close();
    this.wallet.disconnect();
  }

  // ─── Actions ───

  /** Signs and places an order; resolves to what happened to it, in words. */
  async place(input: TicketInput): Promise<string> {
    const { market } = input;
    const order: Order = {
      maker: this.wallet.address,
      marketId: market.id,
      isBuy: input.isBuy,
      flags: ORDER_FLAGS[input.type],
      maxFeeBps: market.makerFeeBps > market.takerFeeBps ? market.makerFeeBps : market.takerFeeBps,
      expiry: BigInt(Math.floor(Date.now() / 1000)) + ORDER_LIFETIME_SECONDS,
      nonce: nextNonce(),
      priceTicks: parsePriceTicks({ price: input.price.trim(), market }),
      lots: parseLots({ amount: input.size.trim(), market }),
    };
    const { domain, keeper } = this.context;
    this.known.set(hashOrder({ order, domain }), order); // the orders channel may tell of it before the answer comes
    const signature = await signOrder({ signer: this.wallet.signer, order, domain });
    const result = await keeper.submitOrder({ order, signature });
    const side = order.isBuy ? "Bought" : "Sold";
    const base = market.base.symbol;
    const filled = `${formatSize(market, result.filledLots)} ${base}`;
    const rest = `${formatSize(market, result.remainingLots)} ${base}`;
    if (result.status === "filled") return `${side} ${filled}.`;
    if (result.status === "cancelled") {
      return result.filledLots === 0n
        ? "Nothing matched, so the order was cancelled (immediate-or-cancel)."
        : `${side} ${filled}; the rest (${rest}) was cancelled (immediate-or-cancel).`;
    }
    if (result.filledLots > 0n) return `${side} ${filled} at once; ${rest} rests on the book.`;
    return `Order placed: ${order.isBuy ? "buy" : "sell"} ${rest} — resting on the book.`;
  }

  /** Soft-cancels one order (signed `CancelOrders`). */
  async cancel(hash: Hex): Promise<string> {
    const [result] = await this.context.keeper.cancelOrders({
      signer: this.wallet.signer,
      orderHashes: [hash],
      maker: this.wallet.address,
    });
    if (result?.outcome === "cancelled") {
      this.drop(hash);
      return "Order cancelled.";
    }
    if (result?.outcome === "not-open") {
      this.drop(hash);
      return "That order had already left the book (filled or cancelled).";
    }
    return result?.outcome === "not-owner" ? "That order is not yours." : "The keeper does not know that order.";
  }

  /** Soft-cancels every open order of the account, in every market (signed `CancelAll`). */
  async cancelAll(): Promise<string> {
    const cancelled = await this.context.keeper.cancelAll({ signer: this.wallet.signer, maker: this.wallet.address });
    for (const hash of cancelled) this.drop(hash);
    return cancelled.length === 0
      ? "No open order to cancel."
      : `Cancelled ${cancelled.length} order${cancelled.length === 1 ? "" : "s"}.`;
  }

  /** Moves tokens from the wallet to the Exchange (approving the Exchange first when needed). */
  async deposit(token: TokenInfo, amount: string): Promise<string> {
    const atoms = parseAmount({ amount: amount.trim(), decimals: token.decimals });
    const { hash } = await deposit(this.wallet.client, {
      exchange: this.context.config.exchange,
      token: token.address,
      amount: atoms,
    });
    await this.mined(hash, "The deposit");
    return `Deposited ${tokens(token, atoms)}.`;
  }

  /**
   * Asks the Exchange to let `amount` of `token` leave once its firmness delay has passed
   * (`requestWithdraw`). It replaces the standing request in that token, if any: asking for no more
   * keeps its time, asking for more starts the wait again. Refused here, before any transaction, when
   * it is zero or more than the account holds on the Exchange.
   */
  async requestWithdrawal(token: TokenInfo, amount: string): Promise<string> {
    const atoms = parseAmount({ amount: amount.trim(), decimals: token.decimals });
    if (atoms === 0n) throw new PageRefusal("The amount must be above zero.");
    const { exchange: held, withdrawal: before } = this.row(token);
    if (held !== undefined && atoms > held) {
      throw new PageRefusal(
        `You hold ${tokens(token, held)} on the Exchange: ask to withdraw at most that (orders' reserves included).`,
      );
    }
    const hash = await requestWithdraw(this.wallet.client, {
      exchange: this.context.config.exchange,
      token: token.address,
      amount: atoms,
    });
    await this.mined(hash, "The withdrawal request");
    const after = this.row(token).withdrawal;
    const when = after === undefined ? "" : `: you can withdraw it ${this.when(after.effectiveAt)}`;
    let replaced = "";
    if (before !== undefined) {
      replaced =
        after?.effectiveAt === before.effectiveAt
          ? ` It replaces your request for ${tokens(token, before.amount)} and keeps its time.`
          : ` It replaces your request for ${tokens(token, before.amount)}, and asking for more started the wait again.`;
    }
    return `Withdrawal of ${tokens(token, atoms)} requested${when}.${replaced}`;
  }

  /**
   * Withdraws what the standing request in `token` lets leave (`withdraw`): all of it, or the whole
   * Exchange balance when trades since the request left less. The page offers it once a block at or
   * after the request's time exists; should the chain still refuse (a larger request made elsewhere
   * started the wait again), the balances and requests are read again and the refusal is put in words.
   */
  async withdrawRequested(token: TokenInfo): Promise<string> {
    const { exchange: held, withdrawal } = this.row(token);
    if (withdrawal === undefined)
      throw new PageRefusal(`No withdrawal of ${token.symbol} is requested: request one first.`);
    const atoms = held !== undefined && held < withdrawal.amount ? held : withdrawal.amount;
    if (atoms === 0n) throw new PageRefusal(`You hold no ${token.symbol} on the Exchange to withdraw.`);
    try {
      const hash = await withdraw(this.wallet.client, {
        exchange: this.context.config.exchange,
        token: token.address,
        amount: atoms,
      });
      await this.mined(hash, "The withdrawal");
    } catch (error) {
      void this.refreshBalances();
      throw error;
    }
    const rest = withdrawal.amount - atoms;
    return rest === 0n
      ? `Withdrew ${tokens(token, atoms)}.`
      : `Withdrew ${tokens(token, atoms)}, all you held on the Exchange; ${tokens(token, rest)} stays requested.`;
  }

  /** Drops the standing withdrawal request in `token` (`requestWithdraw` of 0). */
  async cancelWithdrawal(token: TokenInfo): Promise<string> {
    const hash = await requestWithdraw(this.wallet.client, {
      exchange: this.context.config.exchange,
      token: token.address,
      amount: 0n,
    });
    await this.mined(hash, "Cancelling the withdrawal request");
    return `Your withdrawal request for ${token.symbol} is cancelled.`;
  }

  /** When the chain lets a request in force at `effectiveAt` be used, in words: "now", "in 30 s (at 14:03:27)". */
  when(effectiveAt: bigint): string {
    if (this.clock.reached(effectiveAt)) return "now";
    const ms = this.clock.msUntil(effectiveAt);
    if (ms === undefined || ms === 0) return "with the chain's next block";
    return `in ${formatDuration(ms)} (at ${timeOfDay(Date.now() + ms)})`;
  }

  private row(token: TokenInfo): BalanceRow {
    const row = this.balances.get().find((r) => r.token.address === token.address);
    if (row === undefined) throw new PageRefusal(`${token.symbol} is not a token of these markets.`);
    return row;
  }

  /** Waits for the transaction, then reads the balances and requests again (before the action's sentence shows). */
  private async mined(hash: Hash, what: string): Promise<void> {
    const receipt = await this.context.chain.waitForTransactionReceipt({ hash });
    await this.refreshBalances();
    if (receipt.status !== "success") throw new Error(`${what} was mined but failed (transaction ${hash}).`);
  }

  // ─── The orders channel ───

  private onSnapshot(snapshot: KeeperOrderStatus[]): void {
    this.open.clear();
    for (const o of snapshot) {
      this.known.set(o.hash, o.order);
      if (o.status === "open" || o.status === "partially-filled") this.open.set(o.hash, openOrder(o.hash, o.order, o));
    }
    this.publishOrders();
  }

  private onUpdate(update: KeeperOrderUpdate): void {
    if ((update.event === "settled" || update.event === "skipped") && update.fillId !== undefined) {
      this.settle(update.fillId, update.event, update.txHash, update.reason);
    }
    const live = update.status === "open" || update.status === "partially-filled";
    if (!live) {
      // Only an order that was on the book "left" it: a refusal at placement is told by the ticket.
      if (this.open.has(update.hash) && (update.event === "cancelled" || update.event === "rejected")) {
        this.tellWhyItLeft(update);
      }
      this.drop(update.hash);
      return;
    }
    const order = this.known.get(update.hash);
    if (order !== undefined) {
      this.open.set(update.hash, openOrder(update.hash, order, update));
      this.publishOrders();
      return;
    }
    // Placed elsewhere (another tab, a bot with the same key): fetch its fields once.
    this.readOrder(update.hash).then(
      (status) => {
        this.known.set(status.hash, status.order);
        if (!this.closed && (status.status === "open" || status.status === "partially-filled")) {
          this.open.set(status.hash, openOrder(status.hash, status.order, status));
          this.publishOrders();
        }
      },
      (error: CrossbookError) => this.context.onError(error),
    );
  }

  /**
   * An order of this account, read from the keeper, which shows it only to its maker's session: the
   * page logs in (one `FeedLogin` signature) the first time it needs to, not before.
   */
  private async readOrder(hash: Hex): Promise<KeeperOrderStatus> {
    const { keeper } = this.context;
    this.session ??= keeper.login({ signer: this.wallet.signer, maker: this.wallet.address });
    try {
      await this.session;
    } catch (error) {
      this.session = undefined; // refused or not signed: ask again next time
      throw error;
    }
    return keeper.getOrder(hash);
  }

  private tellWhyItLeft(update: KeeperOrderUpdate): void {
    const why = describeOrderReason(update.reason);
    // The person's own cancels are answered where they pressed the button.
    if (why === undefined || update.reason === "soft-cancel" || update.reason === "soft-cancel-all") return;
    if (update.reason === "not-rested") return; // an immediate-or-cancel rest: the ticket told
    this.context.notify(`An order of yours left the book: ${why.replace(/\.$/, "")}.`, "info");
  }

  private drop(hash: Hex): void {
    if (this.open.delete(hash)) this.publishOrders();
  }

  private publishOrders(): void {
    this.orders.set([...this.open.values()].sort((a, b) => (a.order.nonce > b.order.nonce ? -1 : 1)));
    this.balances.update((rows) => rows.map((row) => ({ ...row, inOrders: this.reserved(row.token) })));
  }

  /** What the open orders reserve of a token: sells their base, buys their quote and fee. */
  private reserved(token: TokenInfo): bigint {
    let atoms = 0n;
    for (const { order, remainingLots } of this.open.values()) {
      const market = marketOf(this.context.config, order.marketId);
      if (market === undefined) continue;
      const side = order.isBuy ? market.quote : market.base;
      if (side.address.toLowerCase() !== token.address.toLowerCase()) continue;
      const amounts = fillAmounts({
        lots: remainingLots,
        priceTicks: order.priceTicks,
        market,
        feeBps: order.maxFeeBps,
      });
      atoms += order.isBuy ? amounts.quoteAtoms + amounts.feeAtoms : amounts.baseAtoms;
    }
    return atoms;
  }

  // ─── Fills ───

  private onTrade(trade: KeeperTrade): void {
    const maker = trade.maker.toLowerCase() === this.me;
    const taker = trade.taker.toLowerCase() === this.me;
    if (!maker && !taker) return;
    const fill: AccountFill = {
      fillId: trade.fillId,
      marketId: trade.marketId,
      isBuy: maker ? trade.makerIsBuy : !trade.makerIsBuy,
      role: maker ? "maker" : "taker",
      priceTicks: trade.priceTicks,
      lots: trade.lots,
      status: trade.status,
      txHash: trade.txHash,
      skipReason: trade.skipReason,
      at: trade.at,
    };
    this.fills.update((fills) => {
      const at = fills.findIndex((f) => f.fillId === fill.fillId);
      if (at < 0) return [fill, ...fills].sort((a, b) => b.fillId - a.fillId).slice(0, FILLS_KEPT);
      if (fills[at].status !== "matched" && fill.status === "matched") return fills;
      const next = fills.slice();
      next[at] = fill;
      return next;
    });
    if (trade.status !== "matched") void this.refreshBalances();
  }

  /** A fill's settlement as the orders channel tells it (the trades channel tells it too; whichever comes first). */
  private settle(
    fillId: number,
    event: "settled" | "skipped",
    txHash: Hex | undefined,
    reason: string | undefined,
  ): void {
    this.fills.update((fills) => {
      const at = fills.findIndex((f) => f.fillId === fillId);
      if (at < 0 || fills[at].status !== "matched") return fills;
      const next = fills.slice();
      next[at] = { ...fills[at], status: event, txHash: txHash ?? fills[at].txHash, skipReason: reason };
      return next;
    });
  }

  // ─── Balances ───

  /** The refresh running, and the one queued after it (each caller's refresh starts after its call). */
  private refreshing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /**
   * Reads every token's balance on the Exchange and in the wallet, the account's withdrawal request in
   * it, the latest block (the chain's time, for the requests) and the firmness delay. One refresh runs
   * at a time; a call during one gets a fresh one right after it (shared by every such call).
   */
  refreshBalances(): Promise<void> {
    if (this.refreshing === undefined) {
      this.refreshing = this.readBalances().finally(() => (this.refreshing = undefined));
      return this.refreshing;
    }
    this.queued ??= this.refreshing.then(() => {
      this.queued = undefined;
      return this.refreshBalances();
    });
    return this.queued;
  }

  private async readBalances(): Promise<void> {
    if (this.closed) return;
    try {
      const { chain, config } = this.context;
      const owner = this.wallet.address;
      const exchange = config.exchange;
      const [block, delay, rows] = await Promise.all([
        chain.getBlock(),
        getFirmnessDelay(chain, { exchange }),
        Promise.all(
          this.balances.get().map(async (row): Promise<BalanceRow> => {
            const token = row.token.address;
            const [held, wallet, request] = await Promise.all([
              getBalance(chain, { exchange, account: owner, token }),
              chain.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [owner] }),
              getWithdrawalRequest(chain, { exchange, account: owner, token }),
            ]);
            // What is left of a request used up reads as its amount 0 (its time stays): no request.
            const withdrawal = request.amount === 0n ? undefined : request;
            return { ...row, exchange: held, wallet, inOrders: this.reserved(row.token), withdrawal };
          }),
        ),
      ]);
      if (this.closed) return;
      this.clock.observe(block);
      this.firmnessDelay.set(delay);
      this.balances.set(rows);
    } catch {
      // The node may be briefly unreachable: the next poll reads again, and the rows keep their last values.
    }
  }
}

/** An amount with its symbol: `40.5 USDC` (every decimal, as the person typed it). */
function tokens(token: TokenInfo, atoms: bigint): string {
  return `${formatTokens(token, atoms, token.decimals)} ${token.symbol}`;
}

function openOrder(
  hash: Hex,
  order: Order,
  status: { status: KeeperOrderState; filledLots: bigint; remainingLots: bigint },
): OpenOrder {
  return { hash, order, status: status.status, filledLots: status.filledLots, remainingLots: status.remainingLots };
}
