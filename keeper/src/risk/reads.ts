/**
 * Where the risk check's chain facts come from. `RiskReads` is one method per fact; two sources:
 *
 * - `directReads`: every fact read from the chain when asked (the SDK's read actions) — exact,
 *   about a dozen RPC calls per order;
 * - `CachedChainReads`: what the keeper runs. Market- and account-level facts are read once per
 *   block and shared by every order of that block, and read again ahead of the orders when a block
 *   arrives (so that no order waits for the chain; see the class); the fill state of a nonce the
 *   keeper has never seen is known without a call: it is 0 unless an `OrderCancelled` event named
 *   it (the keeper follows those events from its start block). That rests on one assumption, stated in
 *   keeper/README.md: **this keeper is the only one settling orders on its Exchange** (another
 *   keeper's fills of a nonce this keeper never saw would be invisible to it). Whatever the cache
 *   misses, settlement catches: the chain skips the fill, and the keeper pulls the order.
 */
import { performance } from "node:perf_hooks";
import { getAddress, parseAbiItem, zeroAddress, type Address, type Hex } from "viem";
import { getBlock, getBlockNumber, getCode, getLogs } from "viem/actions";
import {
  MAX_UINT64,
  getBalance,
  getPendingMinNonce,
  getWithdrawalRequest,
  getCancelAfter,
  getExchangeDomain,
  getFilled,
  getMarket,
  getMinNonce,
  getPaused,
  getPriceBounds,
  getRiskLimits,
  getWindowLimit,
  verifyOrderSignature,
  type ExchangeDomainParameters,
  type GetPriceBoundsReturnType,
  type GetRiskLimitsReturnType,
  type GetWindowLimitReturnType,
  type Market,
  type Order,
  type ReadClient,
} from "@crossbook/sdk";
import type { RpcCause } from "../metrics/rpc";
import { isPending, type Fact } from "./fact";

/**
 * The chain facts the risk check reads. A market that is not listed reads as `undefined`. A source
 * answers with the value when it knows it now, else a promise of it (`Fact`).
 */
export interface RiskReads {
  domain(): Fact<ExchangeDomainParameters>;
  market(marketId: bigint): Fact<Market | undefined>;
  riskLimits(marketId: bigint): Fact<GetRiskLimitsReturnType | undefined>;
  priceBounds(marketId: bigint): Fact<GetPriceBoundsReturnType | undefined>;
  paused(): Fact<boolean>;
  minNonce(maker: Address): Fact<bigint>;
  /**
   * The floor a `cancelUpTo` asked for that is not in force yet (`getPendingMinNonce`); `0n`: none
   * waiting. The keeper stops matching below it at once: a fill matched now may land after it.
   */
  pendingMinNonce(maker: Address): Fact<bigint>;
  /** The atoms of `token` a standing withdrawal request may take out (`getWithdrawalRequest`); `0n`: none. */
  withdrawalRequested(account: Address, token: Address): Fact<bigint>;
  cancelAfter(maker: Address): Fact<bigint>;
  windowLimit(maker: Address, marketId: bigint): Fact<GetWindowLimitReturnType>;
  filled(maker: Address, nonce: bigint): Fact<bigint>;
  /** The account's code (`"0x"` or `undefined` for an EOA). */
  code(account: Address): Fact<Hex | undefined>;
  /** The timestamp of the block the facts are read at (unix seconds). */
  timestamp(): Fact<bigint>;
  balance(account: Address, token: Address): Fact<bigint>;
  /** A contract wallet's ERC-1271 answer for the order (the SDK's `verifyOrderSignature`). */
  contractApproves(order: Order, signature: Hex, domain: ExchangeDomainParameters): Fact<boolean>;
  /**
   * The ECDSA signer of an EOA's order, when this source recovers it itself (e.g. natively, off the
   * main thread); absent: the risk check recovers it with the SDK.
   */
  recoverSigner?(order: Order, signature: Hex, domain: ExchangeDomainParameters): Fact<Address | undefined>;
}

/** A market that is not listed reads as `undefined`; other failures throw. */
async function listedOrUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if ((error as { errorName?: string }).errorName === "MarketNotListed") return undefined;
    throw error;
  }
}

/** Every fact read from the chain at the latest block, when asked. */
export function directReads(client: ReadClient, exchange: Address): RiskReads {
  return {
    domain: () => getExchangeDomain(client, { exchange }),
    market: (marketId) => listedOrUndefined(getMarket(client, { exchange, marketId })),
    riskLimits: (marketId) => listedOrUndefined(getRiskLimits(client, { exchange, marketId })),
    priceBounds: (marketId) => listedOrUndefined(getPriceBounds(client, { exchange, marketId })),
    paused: () => getPaused(client, { exchange }),
    minNonce: (maker) => getMinNonce(client, { exchange, maker }),
    pendingMinNonce: async (maker) => {
      const pending = await getPendingMinNonce(client, { exchange, maker });
      return pending.effectiveAt === 0n ? 0n : pending.minNonce;
    },
    withdrawalRequested: async (account, token) =>
      (await getWithdrawalRequest(client, { exchange, account, token })).amount,
    cancelAfter: (account) => getCancelAfter(client, { exchange, account }),
    windowLimit: (account, marketId) => getWindowLimit(client, { exchange, account, marketId }),
    filled: (maker, nonce) => getFilled(client, { exchange, maker, nonce }),
    code: (address) => getCode(client, { address }),
    timestamp: async () => (await getBlock(client, { blockTag: "latest" })).timestamp,
    balance: (account, token) => getBalance(client, { exchange, account, token }),
    contractApproves: (order, signature, domain) => verifyOrderSignature(client, { order, signature, domain }),
  };
}

// What a trader does on-chain that changes which of its orders can fill (README "Firm matches"):
// a requested cancel (in force at `effectiveAt`; also emitted by `settle` for each IOC order it
// kills), a floor raise, a withdrawal request, a deposit or a withdrawal, a new cancel-after deadline
// (the one stored), a window-limit change. The keeper stops matching what they stop from the event on.
const ORDER_CANCELLED = parseAbiItem("event OrderCancelled(address indexed maker, uint64 nonce, uint40 effectiveAt)");
const ACCOUNT_EVENTS = [
  ORDER_CANCELLED,
  parseAbiItem(
    "event NonceFloorRaised(address indexed maker, uint64 oldMinNonce, uint64 newMinNonce, uint40 effectiveAt)",
  ),
  parseAbiItem(
    "event WithdrawalRequested(address indexed account, address indexed token, uint256 amount, uint40 effectiveAt)",
  ),
  parseAbiItem("event Withdrawn(address indexed account, address indexed token, uint256 amount)"),
  parseAbiItem("event Deposited(address indexed account, address indexed token, uint256 amount)"),
  parseAbiItem("event CancelAfterChanged(address indexed account, uint40 oldDeadline, uint40 newDeadline)"),
  parseAbiItem(
    "event WindowLimitChangeScheduled(address indexed account, uint32 indexed marketId, uint48 oldMaxLots, uint24 oldWindowSeconds, uint48 newMaxLots, uint24 newWindowSeconds, uint32 effectiveAt)",
  ),
] as const;
/** A fill settled: its two accounts' balances (and window use) moved. Order keys pack the account in bytes 0–19. */
const TRADED = parseAbiItem(
  "event Traded(uint32 indexed marketId, bytes32 makerOrder, bytes32 takerOrder, bool makerIsBuy, uint64 priceTicks, uint64 lots)",
);
/** The fee recipient named: the only account the Exchange credits with neither a deposit nor a fill of its own (fees). */
const FEE_RECIPIENT_CHANGED = parseAbiItem("event FeeRecipientChanged(address oldRecipient, address newRecipient)");
const SYNCED_EVENTS = [...ACCOUNT_EVENTS, TRADED, FEE_RECIPIENT_CHANGED] as const;

/**
 * Why an order (or a check) waited on the node for a fact: `new`, not asked for in this block yet
 * (`unsteady`: asked for in the block before only); `moved-by-event`, `moved-by-fill`: read afresh
 * at a new block for a reason the keeper knows; `refused`: read again to confirm a refusal; `uncached`: read on every ask (the cache is invalid
 * after a failed sync, or the fill state of a nonce the keeper has held).
 */
export type FactWait = "new" | "unsteady" | "moved-by-event" | "moved-by-fill" | "refused" | "uncached";

/** The most facts read again ahead of the orders at a new block; the rest are dropped (read when asked). */
export const MAX_REFRESHED_FACTS = 4096;

/**
 * How many blocks an account's facts stay steady (read ahead at each block) after the last order
 * asked for them: a market maker that skips a block (it quotes each second, the chain makes a block
 * each second) keeps them. Also how long an account asked for once is remembered: asked for again
 * within it, in another block, its facts become steady.
 */
export const STEADY_BLOCKS = 8n;

/**
 * How many blocks an account's facts read ahead of an order not sent yet (`ahead`) are kept though
 * no order asks for them: a trader who deposits, then trades within four minutes of 1-second
 * blocks (a minute of Arbitrum's, 50 of Ethereum's).
 */
export const READ_AHEAD_BLOCKS = 256n;

/** Deposits kept for the keeper's next `takeDeposits` (the latest ones). */
export const MAX_KEPT_DEPOSITS = 4096;

/**
 * How many blocks an account's steady fact that no event the keeper follows has moved serves as
 * read, before it is read again anyway: its balance, nonce floor, withdrawal request, cancel-after
 * deadline and window limit move only with events the keeper follows (a deposit, a withdrawal, a
 * settled fill…); this re-read catches what moves without one (the account's code).
 */
export const REREAD_BLOCKS = 8n;

/**
 * The most fee a fill can charge its buyer, in basis points: the Exchange's `MAX_FEE_BPS`
 * (contracts/libraries/MarketConfig.sol), whatever the market's fee is now.
 */
const MAX_FEE_BPS = 100n;

/** `memoised`'s answer for a fact the memo cannot give. */
const MISS: unique symbol = Symbol("not in the memo");

/** The most accounts and markets whose memo keys are kept (`CachedChainReads.keyOf`); past it they are built again. */
const KEYS_KEPT = 65_536;

/** One settled fill (a `Traded` event) as one of its two accounts sees it. */
interface SettledFill {
  readonly marketId: bigint;
  /** Whether the account bought (paid quote and fee) or sold (gave base). */
  readonly bought: boolean;
  readonly lots: bigint;
  readonly priceTicks: bigint;
}

/**
 * A bound of a fact after fills of its account settled, from its value before them: a value the
 * risk check may use in place of the new one, which can only make it refuse more (a balance no
 * higher than the chain's). `undefined`: no such bound is known, the new value is waited for.
 */
type FillBound = (previous: unknown, fills: readonly SettledFill[]) => { value: unknown } | undefined;

/** One memoised fact: its value (a promise), how to read it again (from `direct`), and whose it is. */
interface MemoEntry {
  value: Promise<unknown>;
  readonly read: (direct: RiskReads) => Fact<unknown>;
  /** The account (lowercase) or market the fact is of, and whether a settled fill moves it (balances, window use, price bounds). */
  readonly account?: string;
  readonly market?: bigint;
  readonly movedByFills?: boolean;
  /** How a settled fill of its account moves it, when the keeper can bound that itself (balances, window use). */
  readonly bound?: FillBound;
  /** The last block an order (or a check) asked for it in: read ahead for `STEADY_BLOCKS` after it. */
  usedAt: bigint;
  /** The block it was first asked for in (an account's fact that is not steady yet). */
  readonly firstAt: bigint;
  /** The block its value was read at (asked for then): an account's fact is read again `REREAD_BLOCKS` after. */
  readAt: bigint;
  /** Until `value` settles, an order that asks for it waits on the node; `why` says why it is read then. */
  pending: boolean;
  why: FactWait;
  /** `value`'s answer, once it has settled (`pending` false). */
  known?: unknown;
  /**
   * Asked for in two blocks within `STEADY_BLOCKS`, or of an account the Exchange can have credited
   * (a deposit or a fill named it), or a market's fact: read ahead. An account with no such event
   * seen in one block only (a one-off trader, an attacker's fresh key) costs no read ahead.
   */
  readonly steady: boolean;
  /**
   * An account's fact read ahead of an order not sent yet (`ahead`) and asked for by no order
   * since: kept as read while its account is held (`heldAccounts`), read again only if an event
   * names the account or a fill of it settles.
   */
  readAheadOnly?: boolean;
}

export interface CachedChainReadsOptions {
  /** The first block whose events matter (`OrderCancelled` and the account events): the Exchange's deploy block. */
  startBlock: bigint;
  /**
   * Whether the keeper has ever held an order of `(maker, nonce)`: only then can the nonce have
   * fills on-chain, and it is read from the chain (`Store.hasNonce`).
   */
  nonceSeen(maker: Address, nonce: bigint): boolean;
  /** Native or pooled ECDSA recovery (`keeper/src/sigcheck`); absent: the SDK's. */
  recoverSigner?: RiskReads["recoverSigner"];
  /** Blocks per `eth_getLogs` call while catching up (default 10,000). */
  logChunk?: bigint;
  /** Accounts whose facts `ahead` keeps at once, the latest (default 256). */
  maxAccountsAhead?: number;
  /**
   * The node client each cause's calls go through (`keeper/src/metrics/rpc.ts`: each counts its
   * calls under its cause): the block's sync `sync`, the reads ahead of the orders `read-ahead`, a
   * fact not in the memo the cause that asked for it (`for`). Default: the constructor's client.
   */
  clients?: (cause: RpcCause) => ReadClient;
  /**
   * Told each time an order or check waits on the node for a fact (`fact`: its kind, `balance`,
   * `window`…), with how long it waited, once the answer came (metrics).
   */
  onWait?(fact: string, why: FactWait, seconds: number): void;
  /** Milliseconds, for `onWait` (default `performance.now`). */
  clock?: () => number;
}

/** How current the cached facts are, for readiness and metrics. */
export interface ChainFactsHealth {
  /** The last block whose facts (and `OrderCancelled` events) the cache holds, after a sync that succeeded. */
  readonly syncedBlock: bigint | undefined;
  /** The latest block the node reported. */
  readonly headBlock: bigint | undefined;
  /** `headBlock - syncedBlock`: how far the cache is behind the chain. */
  readonly behindBlocks: bigint;
  /** The last sync failed: facts are read from the chain, uncached, until one succeeds. */
  readonly failing: boolean;
}

/**
 * The keeper's reads: per-block memos over `directReads`, and nonce fill state from the keeper's
 * own knowledge plus `OrderCancelled` events. Call `sync()` as blocks arrive (the keeper's block
 * watcher does): it moves the memo to the new block and reads the block's cancellations.
 *
 * A new block does not make the next order wait for the chain. Steady facts (a market's, an
 * account's asked for in two blocks within `STEADY_BLOCKS`, or an account's that a deposit or a
 * fill credited from its first ask: a market maker's, not an attacker's fresh key's) stay in the
 * memo until `STEADY_BLOCKS` pass without an ask, and at each block:
 * - a market's facts are read again at once, in the background, and the value of the block before
 *   serves until the new one has arrived (one round of reads: the same staleness as seeing the
 *   block that much later);
 * - every fact of an account named by a trader's event in the new blocks (deposit, withdrawal,
 *   floor, cancel-after, window limit) is read afresh and waited for (rare, and the trader caused
 *   it); a cancel moves only its nonce's fill state, which the keeper knows from the event;
 * - the balances and window use of both accounts of each settled fill (`Traded`), and the price
 *   bounds of its market, are read afresh, and meanwhile serve a **bound the keeper computes
 *   itself** from the fill's lots and price: a balance less the most the fills can have debited
 *   (the base a sale gave, the quote a purchase paid plus the highest fee any market may charge;
 *   credits are not counted), a window with no limit as it was, price bounds narrowed to the band
 *   around the last fill's price. A bound is never looser than the chain: it can only make the
 *   keeper refuse more, never accept what the chain would not fund. A limited window's use is
 *   waited for;
 * - an account's other facts move only with events the keeper follows: they serve as read, and are
 *   read again every `REREAD_BLOCKS` (what moves without an event, an account's code, is seen that
 *   late; the pre-send check catches a fill it spoils).
 * A refusal that rests on a cached fact is confirmed (`refresh(account)`): the account's facts
 * read at an earlier block are read afresh, the round of reads ahead is waited for, and the order
 * is checked again — so a bound, or a value kept as read, never refuses a trader the chain would
 * fund.
 *
 * A sync that fails (a provider's `eth_getLogs` range limit, a node that stopped answering)
 * invalidates the cache: until a sync succeeds, every fact is read from the chain when asked (and
 * a nonce's fill state too, since cancellations may be missing), and `health()` says how far behind
 * the cache is. A failing `eth_getLogs` halves the block range it asks for, down to one block.
 */
export class CachedChainReads implements RiskReads {
  /** Direct reads through each cause's client (`options.clients`). */
  private readonly directs = new Map<RpcCause, RiskReads>();
  private memo = new Map<string, MemoEntry>();
  /** The memo's keys by what their fact is of (an account, a market), kind and second part: built once, not at every ask. */
  private readonly keys = new Map<string | bigint, Map<string, Map<string | bigint | undefined, string>>>();
  /** The reads ahead of a new block still under way (`refresh` waits for them). */
  private refreshing: Promise<void> | undefined;
  /**
   * Facts of accounts asked for in an earlier block (within `STEADY_BLOCKS`) but not steady yet,
   * with the block they were first asked for in: asked for again now, they are steady.
   */
  private recent = new Map<string, bigint>();
  /** Whether the current block's memo served values of the block before, or bounds, while it read the new ones. */
  private servedAhead = false;
  /** Listed markets as read (their tokens, lot and tick sizes never change): what a settled fill moved. */
  private readonly listed = new Map<bigint, Market>();
  /**
   * Accounts (lowercase) a `Deposited` event named since the start block: they funded the Exchange
   * (gas and tokens of their own), so they are no strangers to the budget of node work.
   */
  private readonly depositors = new Set<string>();
  /**
   * The latest deposits since the last `takeDeposits` (each account and token once, the most recent
   * last), at most `MAX_KEPT_DEPOSITS`: the keeper reads their accounts' facts ahead of their first order.
   */
  private deposits = new Map<string, { account: Address; token: Address }>();
  /**
   * Accounts (lowercase) the Exchange can have given a balance, by the events since the start block:
   * a `Deposited`, a `Traded` naming one of its orders, or a `FeeRecipientChanged` naming it (the
   * fee recipient is credited the fees). No other account holds anything on the Exchange.
   */
  private readonly credited = new Set<string>();
  /**
   * Whether the events read begin at the Exchange's deployment (its constructor's
   * `FeeRecipientChanged` was read): only then does `credited` hold every account with a balance.
   * A start block past the deployment never sets it.
   */
  private fromDeployment = false;
  /** Each market's price band (bps) as last read: the band around a settled fill's price. */
  private readonly bands = new Map<bigint, bigint>();
  /** Nonces named by an `OrderCancelled` event, with the time the cancel is in force on-chain. */
  private readonly cancelled = new Map<string, bigint>();
  /** Accounts named by a trader event since the last `takeTouched` (their orders are checked again). */
  private touched = new Set<Address>();
  /** Each account's cancel-after deadline from its last `CancelAfterChanged` (0: off), until it comes near. */
  private readonly deadlines = new Map<Address, bigint>();
  private block: { number: bigint; timestamp: bigint } | undefined;
  /** The last block whose `OrderCancelled` events are in `cancelled`. */
  private eventsUpTo: bigint;
  private syncing: Promise<void> | undefined;
  private chunk: bigint;
  private head: bigint | undefined;
  /** The latest block of a sync that succeeded. */
  private syncedBlock: bigint | undefined;
  private failing = false;
  /** Asks made inside `quietly`: a fact they find pending is no order waiting on the node (`onWait`). */
  private quiet = false;
  /** Asks made inside `ahead`: the account facts they read are `readAheadOnly`. */
  private holding = false;
  /**
   * The accounts whose facts `ahead` keeps unasked, with the block each was last read ahead at, the
   * oldest first: for `READ_AHEAD_BLOCKS`, at most `maxAccountsAhead`. Past it the oldest is let go
   * and its unasked facts dropped: accounts that deposit dust at every block cannot fill the memo.
   */
  private readonly heldAccounts = new Map<string, bigint>();
  readonly recoverSigner?: RiskReads["recoverSigner"];

  constructor(
    private readonly client: ReadClient,
    private readonly exchange: Address,
    private readonly options: CachedChainReadsOptions,
  ) {
    this.eventsUpTo = options.startBlock - 1n;
    this.chunk = options.logChunk ?? 10_000n;
    if (options.recoverSigner !== undefined) this.recoverSigner = options.recoverSigner;
  }

  /**
   * Moves to the chain's latest block: reads its `OrderCancelled` events (all of them since the
   * last sync, in chunks) and, if the block is new, drops the memo. Concurrent calls share one run.
   * A failure drops the memo too, and is thrown.
   */
  sync(): Promise<void> {
    this.syncing ??= this.doSync().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Facts read from the chain when asked, through `cause`'s client. */
  private direct(cause: RpcCause): RiskReads {
    let direct = this.directs.get(cause);
    if (direct === undefined) {
      direct = directReads(this.options.clients?.(cause) ?? this.client, this.exchange);
      this.directs.set(cause, direct);
    }
    return direct;
  }

  /**
   * A sync that reads the chain's head after this call: one already under way may have read it
   * before (a deposit whose receipt the trader saw just now would be missing from it), so it is
   * awaited and another one run, or joined if another caller started it since. For the answers that
   * refuse on what the events say (`refresh`, `neverCredited`); the read path keeps `sync`.
   */
  async syncFromNow(): Promise<void> {
    if (this.syncing !== undefined) await this.syncing.catch(() => undefined);
    await this.sync();
  }

  /**
   * `sync`, tried again at once while a failing `eth_getLogs` can still halve its range (a
   * provider's limit on the blocks or the bytes of one answer: a busy market's history at start can
   * exceed 10 MB a chunk of 10,000 blocks). Throws what the last try threw.
   */
  async syncHalving(): Promise<void> {
    for (;;) {
      const chunk = this.chunk;
      try {
        return await this.sync();
      } catch (error) {
        if (this.chunk === chunk) throw error; // not a range it could halve
      }
    }
  }

  /**
   * Brings the facts to the chain's head as of this call (`syncFromNow`), reads `account`'s facts
   * kept from an earlier block afresh, and says whether anything moved: a refusal that rests on a
   * cached fact is confirmed this way before it is given (one `eth_blockNumber` and the account's
   * kept facts).
   */
  async refresh(account?: Address): Promise<boolean> {
    const before = this.block?.number;
    const wasFailing = this.failing;
    await this.syncFromNow();
    // The account's facts served as read at an earlier block are read now.
    const current = this.block?.number;
    const rereads: Promise<void>[] = [];
    if (account !== undefined && current !== undefined && !this.failing) {
      const whose = account.toLowerCase();
      for (const [key, entry] of this.memo) {
        if (entry.account !== whose || entry.readAt >= current || entry.pending) continue;
        rereads.push(this.reread(key, entry, current));
        this.serve(entry, entry.value, "refused");
      }
    }
    await Promise.all(rereads);
    // Values of the block before (or bounds) may still serve: the refusal waits for the new ones.
    const pending = this.refreshing;
    if (pending !== undefined) await pending;
    // A refusal read while they served may rest on one though they have been replaced since: it is
    // read again (from the memo: no call).
    return (
      wasFailing || this.block?.number !== before || pending !== undefined || this.servedAhead || rereads.length > 0
    );
  }

  /**
   * `ask()`, whose asks for facts are not told to `onWait` (a read ahead of an order, which waits for
   * nothing): only what `ask` asks synchronously is.
   */
  quietly<T>(ask: () => T): T {
    const was = this.quiet;
    this.quiet = true;
    try {
      return ask();
    } finally {
      this.quiet = was;
    }
  }

  /**
   * `ask()` as a read ahead of `account`'s orders not sent yet (an account that just deposited, a
   * maker of a keeper that starts to lead), told to no order's wait (`quietly`): the account's facts
   * it reads are kept for `READ_AHEAD_BLOCKS` though no order asks for them, for the latest
   * `maxAccountsAhead` accounts, and read again meanwhile only if an event names the account or a
   * fill of it settles. Once an order asks for one, it is kept and read again as any other. (A
   * market's facts it reads are kept as any.)
   */
  ahead<T>(account: Address, ask: () => T): T {
    keepLatest(
      this.heldAccounts,
      account.toLowerCase(),
      this.block?.number ?? 0n,
      this.options.maxAccountsAhead ?? 256,
    );
    const was = this.holding;
    this.holding = true;
    try {
      return this.quietly(ask);
    } finally {
      this.holding = was;
    }
  }

  /** How current the cache is. */
  health(): ChainFactsHealth {
    const behind =
      this.head !== undefined && this.syncedBlock !== undefined && this.head > this.syncedBlock
        ? this.head - this.syncedBlock
        : 0n;
    return { syncedBlock: this.syncedBlock, headBlock: this.head, behindBlocks: behind, failing: this.failing };
  }

  /** A head the caller saw (the keeper's block watcher): how far behind the cache is counts from it too. */
  observeHead(block: bigint): void {
    if (this.head === undefined || block > this.head) this.head = block;
  }

  /** The block the cached facts are of (the latest synced), and its timestamp. */
  get currentBlock(): { number: bigint; timestamp: bigint } | undefined {
    return this.block;
  }

  /**
   * Whether an `OrderCancelled` event the keeper has read asked to cancel `(maker, nonce)`, in force
   * or not yet: the keeper matches the nonce no more.
   */
  cancelledOnChain(maker: Address, nonce: bigint): boolean {
    return this.cancelled.has(nonceKey(maker, nonce));
  }

  /**
   * Whether the chain skips `(maker, nonce)` at `timestamp` for a cancel the keeper has read (its
   * `effectiveAt` is at or before it): what the pre-send check asks — a fill matched before the
   * cancel's delay ran out still settles, and is sent.
   */
  cancelInForceBy(maker: Address, nonce: bigint, timestamp: bigint): boolean {
    const at = this.cancelled.get(nonceKey(maker, nonce));
    return at !== undefined && at <= timestamp;
  }

  /**
   * The accounts named by a trader's on-chain action (cancel, floor raise, withdrawal request or
   * withdrawal, deposit, cancel-after, window limit) in the blocks synced since the last call: the
   * keeper checks their resting orders again (`Engine.recheck`). Each account once.
   */
  takeTouched(): Address[] {
    const touched = [...this.touched];
    this.touched = new Set();
    return touched;
  }

  /**
   * The accounts whose cancel-after deadline (as their last `CancelAfterChanged` set it) is before
   * `timestamp`: their orders are checked again as the deadline comes within the settlement
   * horizon, with no event in that block. Each deadline is given once (a new one comes with its event).
   */
  takeDeadlinesBefore(timestamp: bigint): Address[] {
    const near: Address[] = [];
    for (const [account, deadline] of this.deadlines) {
      if (deadline >= timestamp) continue;
      near.push(account);
      this.deadlines.delete(account);
    }
    return near;
  }

  /**
   * The deposits read since the last call, oldest first, each account and token once; at most the
   * latest `MAX_KEPT_DEPOSITS` (a start block far back, or a follower that syncs for long, keeps
   * the recent ones).
   */
  takeDeposits(): { account: Address; token: Address }[] {
    const deposits = [...this.deposits.values()];
    this.deposits = new Map();
    return deposits;
  }

  private keepDeposit(account: Address, token: Address): void {
    keepLatest(this.deposits, `${account}:${token}`, { account, token }, MAX_KEPT_DEPOSITS);
  }

  /** Whether a `Deposited` event the keeper has read named `account` (it funded the Exchange). */
  hasDeposited(account: Address): boolean {
    return this.depositors.has(account.toLowerCase());
  }

  /**
   * Whether `account` holds nothing on the Exchange, known without reading it: brought to the chain's
   * head first (`syncFromNow`: one `eth_blockNumber` read after the call, shared by every caller
   * meanwhile, and the new blocks' events), no event since the Exchange's deployment can have
   * credited it (see `credited`). False when the sync failed or the events read start after the
   * deployment (the start block is later): its balances must then be read.
   */
  async neverCredited(account: Address): Promise<boolean> {
    await this.syncFromNow();
    return this.fromDeployment && !this.failing && !this.credited.has(account.toLowerCase());
  }

  /** Names accounts again for the next `takeTouched` (a check that could not read the chain). */
  touch(accounts: readonly Address[]): void {
    for (const account of accounts) this.touched.add(getAddress(account));
  }

  private async doSync(): Promise<void> {
    const client = this.options.clients?.("sync") ?? this.client;
    try {
      const latest = await getBlockNumber(client, { cacheTime: 0 });
      if (this.head === undefined || latest > this.head) this.head = latest;
      /** Accounts (lowercase) named by a trader's event, and those whose fills settled, in the new blocks. */
      const named = new Set<string>();
      const traded = new Map<string, SettledFill[]>();
      const tradedMarkets = new Map<bigint, SettledFill[]>();
      while (this.eventsUpTo < latest) {
        const fromBlock = this.eventsUpTo + 1n;
        const toBlock = fromBlock + this.chunk - 1n < latest ? fromBlock + this.chunk - 1n : latest;
        let logs;
        try {
          logs = await getLogs(client, { address: this.exchange, events: SYNCED_EVENTS, fromBlock, toBlock });
        } catch (error) {
          // A provider's range limit: ask for half as many blocks next time.
          if (this.chunk > 1n) this.chunk /= 2n;
          throw error;
        }
        for (const log of logs) {
          if (log.eventName === "Traded") {
            const { marketId, makerOrder, takerOrder, makerIsBuy, priceTicks, lots } = log.args as {
              marketId?: number;
              makerOrder?: Hex;
              takerOrder?: Hex;
              makerIsBuy?: boolean;
              priceTicks?: bigint;
              lots?: bigint;
            };
            if (marketId === undefined || makerOrder === undefined || takerOrder === undefined) continue;
            const fill = { marketId: BigInt(marketId), lots: lots ?? 0n, priceTicks: priceTicks ?? 0n };
            addTo(tradedMarkets, fill.marketId, { ...fill, bought: makerIsBuy === true });
            addTo(traded, makerOrder.slice(0, 42).toLowerCase(), { ...fill, bought: makerIsBuy === true });
            addTo(traded, takerOrder.slice(0, 42).toLowerCase(), { ...fill, bought: makerIsBuy !== true });
            this.credited.add(makerOrder.slice(0, 42).toLowerCase());
            this.credited.add(takerOrder.slice(0, 42).toLowerCase());
            continue;
          }
          if (log.eventName === "FeeRecipientChanged") {
            const { oldRecipient, newRecipient } = log.args as { oldRecipient?: Address; newRecipient?: Address };
            if (newRecipient !== undefined) this.credited.add(newRecipient.toLowerCase());
            // The constructor's (from no recipient): the events read start at the Exchange's deployment.
            if (oldRecipient === zeroAddress) this.fromDeployment = true;
            continue;
          }
          const args = log.args as { maker?: Address; account?: Address; nonce?: bigint; effectiveAt?: number };
          if (log.eventName === "OrderCancelled") {
            const key = nonceKey(args.maker as Address, args.nonce as bigint);
            // A repeated cancel keeps its first time on-chain.
            if (!this.cancelled.has(key)) this.cancelled.set(key, BigInt(args.effectiveAt ?? 0));
          }
          const account = args.maker ?? args.account;
          if (account === undefined) continue;
          this.touched.add(getAddress(account));
          if (log.eventName === "Deposited") {
            this.depositors.add(account.toLowerCase());
            this.credited.add(account.toLowerCase());
            this.keepDeposit(getAddress(account), getAddress((log.args as { token: Address }).token));
          }
          // A cancel moves the fill state of its nonce only (`cancelled`), none of the account's
          // facts: an IOC taker's, which `settle` cancels after each fill, are not waited for.
          if (log.eventName !== "OrderCancelled") named.add(account.toLowerCase());
          if (log.eventName === "CancelAfterChanged") {
            const deadline = BigInt((log.args as { newDeadline?: number }).newDeadline ?? 0);
            if (deadline === 0n) this.deadlines.delete(getAddress(account));
            else this.deadlines.set(getAddress(account), deadline);
          }
        }
        this.eventsUpTo = toBlock;
      }
      if (this.block?.number !== latest || this.failing) {
        const header = await getBlock(client, { blockNumber: latest });
        const previous = this.failing ? new Map<string, MemoEntry>() : this.memo;
        this.memo = new Map();
        this.block = { number: latest, timestamp: header.timestamp };
        this.readAhead(previous, named, traded, tradedMarkets);
      }
      this.failing = false;
      this.syncedBlock = latest;
    } catch (error) {
      // Whatever the memo holds may be older than the chain now: forget it, read afresh until a sync succeeds.
      this.memo = new Map();
      this.failing = true;
      throw error;
    }
  }

  /**
   * The new block's memo from the block before's (`previous`): the steady facts asked for within
   * `STEADY_BLOCKS`, as the class says — a market's read again (its value before serving; price
   * bounds its bound after fills in it), an account's read afresh and waited for when `named`,
   * read afresh serving its bound (`FillBound`) after fills of its account (`traded`), else kept as
   * read (read again every `REREAD_BLOCKS`). Other facts are dropped (read when asked). At most
   * `MAX_REFRESHED_FACTS` reads.
   */
  private readAhead(
    previous: ReadonlyMap<string, MemoEntry>,
    named: ReadonlySet<string>,
    traded: ReadonlyMap<string, readonly SettledFill[]>,
    tradedMarkets: ReadonlyMap<bigint, readonly SettledFill[]>,
  ) {
    const latest = (this.block as { number: bigint }).number;
    const reads: Promise<unknown>[] = [];
    const recent = new Map<string, bigint>();
    for (const [key, first] of this.recent) if (latest - first <= STEADY_BLOCKS) recent.set(key, first);
    this.servedAhead = false;
    for (const [account, at] of this.heldAccounts) {
      if (latest - at <= READ_AHEAD_BLOCKS) break; // the rest are later
      this.heldAccounts.delete(account);
    }
    for (const [key, old] of previous) {
      if (old.readAheadOnly === true && old.account !== undefined) {
        if (!this.heldAccounts.has(old.account)) continue; // let go, or held too long
        // Read ahead and asked for by no order yet: kept as read, unless its account moved.
        const entry: MemoEntry = { ...old };
        this.memo.set(key, entry);
        const why: FactWait | undefined = named.has(old.account)
          ? "moved-by-event"
          : old.movedByFills === true && traded.has(old.account)
            ? "moved-by-fill"
            : undefined;
        if (why === undefined) continue;
        reads.push(this.reread(key, entry, latest));
        this.serve(entry, entry.value, why);
        continue;
      }
      if (latest - old.usedAt > STEADY_BLOCKS) continue;
      if (!old.steady) {
        if (!recent.has(key)) recent.set(key, old.firstAt);
        continue;
      }
      if (reads.length >= MAX_REFRESHED_FACTS) break;
      const fills =
        old.account !== undefined
          ? traded.get(old.account)
          : old.market !== undefined
            ? tradedMarkets.get(old.market)
            : undefined;
      const entry: MemoEntry = { ...old };
      this.memo.set(key, entry);
      const namedByEvent = old.account !== undefined && named.has(old.account);
      const movedByFills = old.movedByFills === true && fills !== undefined;
      // An account's fact no followed event moved: kept as it is, read again only now and then.
      if (old.account !== undefined && !namedByEvent && !movedByFills && latest - old.readAt < REREAD_BLOCKS) continue;
      const fresh = this.reread(key, entry, latest);
      reads.push(fresh);
      if (namedByEvent) {
        this.serve(entry, entry.value, "moved-by-event");
        continue;
      }
      const bounded = movedByFills && !old.pending ? old.bound?.(old.known, fills) : undefined;
      if (movedByFills && bounded === undefined) {
        this.serve(entry, entry.value, "moved-by-fill");
        continue;
      }
      // Until the new value arrives: the bound, or the value before.
      entry.value = bounded !== undefined ? Promise.resolve(bounded.value) : old.value;
      entry.known = bounded !== undefined ? bounded.value : old.known;
      entry.pending = old.pending;
      this.servedAhead = true;
    }
    this.recent = recent;
    if (reads.length === 0) return;
    const refreshing: Promise<void> = Promise.all(reads).then(() => {
      if (this.refreshing === refreshing) this.refreshing = undefined;
    });
    this.refreshing = refreshing;
  }

  /**
   * Reads `entry` (the memo's `key`) again at `block`: `entry.value` is the new read, which the
   * caller may replace with what serves until it arrives; once it arrives it serves. Resolves when
   * it has (a failed read is not remembered: the next order asks again).
   */
  private reread(key: string, entry: MemoEntry, block: bigint): Promise<void> {
    const fresh = Promise.resolve(entry.read(this.direct("read-ahead")));
    entry.value = fresh;
    entry.readAt = block;
    return fresh.then(
      (value) => {
        entry.value = fresh;
        entry.known = value;
        entry.pending = false;
      },
      () => {
        if (this.memo.get(key) === entry) this.memo.delete(key);
      },
    );
  }

  /** `entry` waits for `value` (read for `why`): an order that asks for it before it settles waits too. */
  private serve(entry: MemoEntry, value: Promise<unknown>, why: FactWait): void {
    entry.value = value;
    entry.pending = true;
    entry.why = why;
    entry.known = undefined;
  }

  /** The fact `key` from the memo, else read (through `cause`'s client) and memoised. */
  private cached<T>(
    cause: RpcCause,
    key: string,
    read: (direct: RiskReads) => Fact<T>,
    of?: { account?: Address; market?: bigint; movedByFills?: boolean; bound?: FillBound },
  ): Fact<T> {
    const hit = this.memoised<T>(key);
    if (hit !== MISS) return hit;
    // Direct reads answer with promises: `Promise.resolve` gives them back as they are.
    if (this.failing) return this.waited(key, "uncached", Promise.resolve(read(this.direct(cause))));
    // Not in the memo: read it, and remember the read (its answer, once it comes).
    const value = Promise.resolve(read(this.direct(cause)));
    const block = this.block?.number ?? 0n;
    const created: MemoEntry = {
      value,
      read,
      usedAt: block,
      firstAt: block,
      readAt: block,
      pending: true,
      why: this.recent.has(key) ? "unsteady" : "new",
      // An account the Exchange can have credited (it deposited or traded) is steady from its first
      // ask: its next block's order finds its facts kept, not asked for again (a fresh key is not).
      steady: of?.account === undefined || this.recent.has(key) || this.credited.has(of.account.toLowerCase()),
      ...(of?.account === undefined ? {} : { account: of.account.toLowerCase() }),
      ...(of?.market === undefined ? {} : { market: of.market }),
      ...(of?.bound === undefined ? {} : { bound: of.bound }),
      movedByFills: of?.movedByFills === true,
      ...(this.holding && of?.account !== undefined ? { readAheadOnly: true } : {}),
    };
    this.memo.set(key, created);
    value.then(
      (answer) => {
        if (created.value !== value) return;
        created.pending = false;
        created.known = answer;
      },
      () => {
        // A failed read is not remembered: the next order asks again.
        if (this.memo.get(key) === created) this.memo.delete(key);
      },
    );
    return this.waited(key, created.why, value);
  }

  /**
   * The fact `key` as the memo has it (as `cached` gives it), or MISS. The accessors ask it first,
   * so that a fact in the memo (most asks) costs no reader closure or description built for a miss.
   */
  private memoised<T>(key: string): Fact<T> | typeof MISS {
    if (this.failing) return MISS;
    const entry = this.memo.get(key);
    if (entry === undefined) return MISS;
    // A read ahead is no use of the fact (`ahead` holds its account instead).
    if (!this.holding) {
      entry.usedAt = this.block?.number ?? 0n;
      delete entry.readAheadOnly;
    }
    // Settled: its answer itself, so that an order whose facts are all known reads them without an await.
    return entry.pending ? this.waited(key, entry.why, entry.value as Promise<T>) : (entry.known as T);
  }

  /** The memo key `kind:of` or `kind:of:and`, as the accessors spell it, from `keys`. */
  private keyOf(kind: string, of: string | bigint, and?: string | bigint): string {
    let byKind = this.keys.get(of);
    if (byKind === undefined) {
      if (this.keys.size >= KEYS_KEPT) this.keys.clear();
      this.keys.set(of, (byKind = new Map()));
    }
    let byAnd = byKind.get(kind);
    if (byAnd === undefined) byKind.set(kind, (byAnd = new Map()));
    let key = byAnd.get(and);
    if (key === undefined) byAnd.set(and, (key = and === undefined ? `${kind}:${of}` : `${kind}:${of}:${and}`));
    return key;
  }

  /** `value`, told to `onWait` (as a wait for the fact `key` names, for `why`) when it settles. */
  private waited<T>(key: string, why: FactWait, value: Promise<T>): Promise<T> {
    const onWait = this.options.onWait;
    if (onWait === undefined || this.quiet) return value;
    const clock = this.options.clock ?? (() => performance.now());
    const start = clock();
    const colon = key.indexOf(":");
    const fact = colon < 0 ? key : key.slice(0, colon);
    const told = () => onWait(fact, why, (clock() - start) / 1000);
    value.then(told, told);
    return value;
  }

  domain(cause: RpcCause = "other") {
    const hit = this.memoised<ExchangeDomainParameters>("domain");
    return hit !== MISS ? hit : this.cached(cause, "domain", (d) => d.domain());
  }
  market(marketId: bigint, cause: RpcCause = "other") {
    const key = this.keyOf("market", marketId);
    const hit = this.memoised<Market | undefined>(key);
    const read = hit !== MISS ? hit : this.cached(cause, key, (d) => d.market(marketId));
    whenKnown(read, (market) => {
      if (market !== undefined) this.listed.set(marketId, market);
    });
    return read;
  }
  riskLimits(marketId: bigint, cause: RpcCause = "other") {
    const key = this.keyOf("limits", marketId);
    const hit = this.memoised<GetRiskLimitsReturnType | undefined>(key);
    const read = hit !== MISS ? hit : this.cached(cause, key, (d) => d.riskLimits(marketId));
    whenKnown(read, (limits) => {
      if (limits !== undefined) this.bands.set(marketId, limits.bandBps);
    });
    return read;
  }
  priceBounds(marketId: bigint, cause: RpcCause = "other") {
    // The reference may be the market's last settled price: a fill settled in it moves the bounds.
    const key = this.keyOf("bounds", marketId);
    const hit = this.memoised<GetPriceBoundsReturnType | undefined>(key);
    if (hit !== MISS) return hit;
    return this.cached(cause, key, (d) => d.priceBounds(marketId), {
      market: marketId,
      movedByFills: true,
      bound: (previous, fills) => this.narrowed(previous as GetPriceBoundsReturnType, marketId, fills),
    });
  }
  /**
   * Price bounds no wider than the market's after `fills` (in the chain's order): the bounds before
   * them, narrowed to the band around the last one's price. The reference is either the market's
   * feed, which fills do not move (the bounds before), or its last price (the band around the last
   * fill's): the new bounds hold both. `undefined` when the market's band was never read here.
   */
  private narrowed(
    bounds: GetPriceBoundsReturnType,
    marketId: bigint,
    fills: readonly SettledFill[],
  ): { value: GetPriceBoundsReturnType } | undefined {
    const last = fills[fills.length - 1];
    const bandBps = this.bands.get(marketId);
    if (last === undefined || bandBps === undefined) return undefined;
    if (bandBps === 0n || !bounds.available) return { value: bounds };
    // The Exchange's PriceBand.bounds with the last price as the reference (num = den = 1).
    const low = ceilDiv(last.priceTicks * (10_000n - bandBps), 10_000n);
    const high = (last.priceTicks * (10_000n + bandBps)) / 10_000n;
    return {
      value: {
        available: true,
        minPriceTicks: low > bounds.minPriceTicks ? low : bounds.minPriceTicks,
        maxPriceTicks: high < bounds.maxPriceTicks ? high : bounds.maxPriceTicks,
      },
    };
  }
  paused(cause: RpcCause = "other") {
    const hit = this.memoised<boolean>("paused");
    return hit !== MISS ? hit : this.cached(cause, "paused", (d) => d.paused());
  }
  minNonce(maker: Address, cause: RpcCause = "other") {
    const key = this.keyOf("minNonce", maker);
    const hit = this.memoised<bigint>(key);
    return hit !== MISS ? hit : this.cached(cause, key, (d) => d.minNonce(maker), { account: maker });
  }
  pendingMinNonce(maker: Address, cause: RpcCause = "other") {
    const key = this.keyOf("pendingMinNonce", maker);
    const hit = this.memoised<bigint>(key);
    return hit !== MISS ? hit : this.cached(cause, key, (d) => d.pendingMinNonce(maker), { account: maker });
  }
  withdrawalRequested(account: Address, token: Address, cause: RpcCause = "other") {
    const key = this.keyOf("withdrawal", account, token);
    const hit = this.memoised<bigint>(key);
    if (hit !== MISS) return hit;
    return this.cached(cause, key, (d) => d.withdrawalRequested(account, token), { account });
  }
  cancelAfter(maker: Address, cause: RpcCause = "other") {
    const key = this.keyOf("cancelAfter", maker);
    const hit = this.memoised<bigint>(key);
    const read = hit !== MISS ? hit : this.cached(cause, key, (d) => d.cancelAfter(maker), { account: maker });
    // A deadline set before the start block comes with no event the keeper reads: learnt from this
    // read, it is given by `takeDeadlinesBefore` as it comes near, like one an event named. (One
    // the chain has since moved only costs a recheck, which reads the chain again.)
    whenKnown(read, (deadline) => this.learnDeadline(getAddress(maker), deadline));
    return read;
  }

  private learnDeadline(account: Address, deadline: bigint): void {
    const now = this.block?.timestamp ?? 0n;
    if (deadline !== 0n && deadline > now && !this.deadlines.has(account)) this.deadlines.set(account, deadline);
  }
  windowLimit(maker: Address, marketId: bigint, cause: RpcCause = "other") {
    const key = this.keyOf("window", maker, marketId);
    const hit = this.memoised<GetWindowLimitReturnType>(key);
    if (hit !== MISS) return hit;
    return this.cached(cause, key, (d) => d.windowLimit(maker, marketId), {
      account: maker,
      movedByFills: true,
      // Use is recorded in a window of the fill's market only, and only while the account has a
      // limit there: with none, in force or scheduled, fills leave it as it was. A limited window's
      // use is read afresh.
      bound: (previous, fills) => {
        const limit = previous as GetWindowLimitReturnType;
        const unlimited = limit.windowSeconds === 0n && limit.pendingEffectiveAt === 0n;
        return unlimited || !fills.some((f) => f.marketId === marketId) ? { value: limit } : undefined;
      },
    });
  }
  code(account: Address, cause: RpcCause = "other") {
    const key = this.keyOf("code", account);
    const hit = this.memoised<Hex | undefined>(key);
    return hit !== MISS ? hit : this.cached(cause, key, (d) => d.code(account), { account });
  }
  balance(account: Address, token: Address, cause: RpcCause = "other") {
    const key = this.keyOf("balance", account, token);
    const hit = this.memoised<bigint>(key);
    if (hit !== MISS) return hit;
    return this.cached(cause, key, (d) => d.balance(account, token), {
      account,
      movedByFills: true,
      bound: (previous, fills) => this.debited(previous as bigint, token.toLowerCase(), fills),
    });
  }

  /**
   * A lower bound of `balance` (of `token`, lowercase) after its account's `fills`: less, for each,
   * the most it can have taken of the token — a sale its base atoms, a purchase its quote atoms and
   * the highest fee any market may charge (`MAX_FEE_BPS`; the Exchange rounds fees down). What
   * fills credit is not counted. `undefined` when a fill's market was never read here.
   */
  private debited(balance: bigint, token: string, fills: readonly SettledFill[]): { value: bigint } | undefined {
    let debit = 0n;
    for (const fill of fills) {
      const market = this.listed.get(fill.marketId);
      if (market === undefined) return undefined;
      if (fill.bought && market.quote.toLowerCase() === token) {
        const quoteAtoms = fill.lots * fill.priceTicks * market.tickSize;
        debit += quoteAtoms + (quoteAtoms * MAX_FEE_BPS) / 10_000n;
      } else if (!fill.bought && market.base.toLowerCase() === token) {
        debit += fill.lots * market.lotSize;
      }
    }
    return { value: balance > debit ? balance - debit : 0n };
  }
  timestamp(cause: RpcCause = "other"): Fact<bigint> {
    if (this.block === undefined) return this.sync().then(() => this.timestamp(cause));
    if (this.failing) return this.direct(cause).timestamp();
    return this.block.timestamp;
  }
  filled(maker: Address, nonce: bigint, cause: RpcCause = "other"): Fact<bigint> {
    if (this.block === undefined) return this.sync().then(() => this.filled(maker, nonce, cause));
    if (this.cancelled.has(nonceKey(maker, nonce))) return MAX_UINT64;
    // Cancellations may be missing while syncs fail: ask the chain.
    if (!this.failing && !this.options.nonceSeen(maker, nonce)) return 0n;
    return this.waited("filled:", "uncached", Promise.resolve(this.direct(cause).filled(maker, nonce)));
  }
  contractApproves(order: Order, signature: Hex, domain: ExchangeDomainParameters, cause: RpcCause = "other") {
    return this.direct(cause).contractApproves(order, signature, domain);
  }
}

/** `learn` of the fact's value once it is known (at once when it is); a failed read teaches nothing. */
function whenKnown<T>(fact: Fact<T>, learn: (value: T) => void): void {
  if (isPending(fact)) fact.then(learn, () => undefined);
  else learn(fact);
}

function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function nonceKey(maker: Address, nonce: bigint): string {
  return `${maker.toLowerCase()}:${nonce}`;
}

/** Sets `key` in `map` as its latest entry (insertion order), dropping the oldest past `max` entries. */
function keepLatest<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}
