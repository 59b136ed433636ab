/**
 * What each account's open orders reserve, kept as the books and the store change, so that the
 * risk check of an order costs O(1) however many orders its maker has resting (an account at the
 * cap of 1,000 open orders used to cost a walk of all of them, and a store read each, per order).
 *
 * An order reserves `orderReservation(order, resting + open)`: its resting lots (the book's) and
 * the lots of its fills pending or sent (the store's). The books and the store only say which
 * orders changed (`touch`); the ledger reads their lots again when it is next asked, so that a
 * match (a maker's resting lots down, its open lots up, written a moment later) is seen whole.
 * Totals by token are kept per account with the market parameters they were computed with; a
 * market read with other parameters (a fee change) recomputes the totals of the accounts with
 * orders in it. `rebuild` starts again from the books and the store (a restart, a takeover).
 */
import type { Address, Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import {
  OrderBook,
  type ChangeResult,
  type NewOrder,
  type PlaceResult,
  type RestingOrder,
  type RestoreResult,
} from "../book";
import { orderReservation } from "../risk/reservation";
import type { OpenOrders, Reservation, ReservationMarket, ReservingOrder } from "../risk/types";

/** Where the ledger reads an order's lots. */
export interface LedgerSources {
  /** The order's lots resting in its book (0 when it does not rest). */
  restingLots(hash: Hex, order: Order): bigint;
  /** The lots of the order's pending or sent fills. */
  openLots(hash: Hex): bigint;
  /** The order of `hash`, when the ledger was not told it and holds no entry of it (a resting order). */
  orderOf(hash: Hex): Order | undefined;
  /** Every order that may reserve: resting in a book or with open fills (for a rebuild). */
  reserving(): Iterable<{ hash: Hex; order: Order }>;
}

interface Entry {
  readonly order: Order;
  readonly resting: bigint;
  readonly open: bigint;
}

interface AccountLedger {
  readonly entries: Map<Hex, Entry>;
  /** How many entries are in each market. */
  readonly markets: Map<bigint, number>;
  /** How many entries use each nonce. */
  readonly nonces: Map<bigint, number>;
  /** Atoms reserved by token (lower-case address), with `params`; undefined: to compute again. */
  totals: Map<string, bigint> | undefined;
}

const count = <K>(map: Map<K, number>, key: K, by: number) => {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
};

/**
 * Lower-case spellings of the token addresses the ledger meets (a few: the markets' tokens), each
 * made once, not at every order's risk read.
 */
class TokenKeys {
  private readonly keys = new Map<string, string>();

  of(token: string): string {
    let key = this.keys.get(token);
    if (key === undefined) {
      if (this.keys.size >= 4096) this.keys.clear();
      this.keys.set(token, (key = token.toLowerCase()));
    }
    return key;
  }
}

const sameMarket = (keys: TokenKeys, a: ReservationMarket, b: ReservationMarket) =>
  keys.of(a.base) === keys.of(b.base) &&
  keys.of(a.quote) === keys.of(b.quote) &&
  a.lotSize === b.lotSize &&
  a.tickSize === b.tickSize &&
  a.makerFeeBps === b.makerFeeBps &&
  a.takerFeeBps === b.takerFeeBps;

export class ReservationLedger {
  private readonly accounts = new Map<Address, AccountLedger>();
  /**
   * The order of every entry, by hash: an order touched without its order (a cancel in its book)
   * that has an entry needs no read of its row to be found again.
   */
  private readonly entryOrders = new Map<Hex, Order>();
  /** Orders changed since the ledger last read them, with their order when the teller knew it. */
  private readonly dirty = new Map<Hex, Order | undefined>();
  private rebuildPending = true;
  /** The market parameters the totals are computed with. */
  private readonly params = new Map<bigint, ReservationMarket>();
  private readonly tokenKeys = new TokenKeys();

  constructor(private readonly sources: LedgerSources) {}

  /** The lots of `hash` (resting or open) may have changed. */
  touch(hash: Hex, order?: Order): void {
    if (this.rebuildPending) return;
    this.dirty.set(hash, order ?? this.dirty.get(hash));
  }

  /** Every order's lots may have changed: read them all again when next asked. */
  rebuild(): void {
    this.rebuildPending = true;
    this.dirty.clear();
  }

  /**
   * The account's open orders as the risk check asks about them: less the resting part of the
   * orders in `leaving` (a batch cancels them first), with `added` (orders a batch places first).
   * `orders()` is the full recomputation, from `list` (the engine's walk of its books and store).
   */
  openOrders(
    account: Address,
    list: () => ReservingOrder[],
    leaving?: ReadonlySet<Hex>,
    added: readonly ReservingOrder[] = NO_ORDERS,
  ): OpenOrders {
    return new AccountOpenOrders(this, account, list, leaving, added);
  }

  /** `OpenOrders.marketIds` of `account` with `added` (for `AccountOpenOrders`). */
  marketIdsOf(account: Address, added: readonly ReservingOrder[]): Iterable<bigint> {
    const markets = this.accountOf(account)?.markets;
    // No order added: the ledger's own markets (read at once by the risk read), no set built.
    if (added.length === 0) return markets?.keys() ?? NO_MARKETS;
    const ids = new Set(markets?.keys());
    for (const a of added) ids.add(a.order.marketId);
    return ids;
  }

  /** `OpenOrders.nonceInUse` of `account`, less `leaving`, with `added` (for `AccountOpenOrders`). */
  nonceInUseOf(
    account: Address,
    nonce: bigint,
    leaving: ReadonlySet<Hex> | undefined,
    added: readonly ReservingOrder[],
  ): boolean {
    if (added.length > 0 && added.some((a) => a.order.nonce === nonce)) return true;
    const ledger = this.accountOf(account);
    let using = ledger?.nonces.get(nonce) ?? 0;
    if (leaving !== undefined) {
      for (const hash of leaving) {
        const e = ledger?.entries.get(hash);
        if (e !== undefined && e.order.nonce === nonce && e.open === 0n) using--;
      }
    }
    return using > 0;
  }

  /** What `account` reserves by token (lower-case address), `marketOf` giving the markets. */
  reservedBy(account: Address, marketOf: (marketId: bigint) => ReservationMarket | undefined): Map<string, bigint> {
    const ledger = this.accountOf(account);
    if (ledger === undefined) return new Map();
    this.follow(ledger, marketOf);
    return new Map(this.totalsOf(ledger));
  }

  /** `OpenOrders.reserved` of `account`, less `leaving`, with `added` (for `AccountOpenOrders`). */
  reserved(
    account: Address,
    marketOf: (marketId: bigint) => ReservationMarket | undefined,
    tokens: { base: Address; quote: Address },
    leaving: ReadonlySet<Hex> | undefined,
    added: readonly ReservingOrder[],
  ): Reservation {
    const base = this.tokenKeys.of(tokens.base);
    const quote = this.tokenKeys.of(tokens.quote);
    const reserved: Reservation = { base: 0n, quote: 0n };
    const add = (token: Address, atoms: bigint) => {
      const t = this.tokenKeys.of(token);
      if (t === base) reserved.base += atoms;
      if (t === quote) reserved.quote += atoms;
    };
    const ledger = this.accountOf(account);
    if (ledger !== undefined) {
      this.follow(ledger, marketOf);
      const totals = this.totalsOf(ledger);
      reserved.base += totals.get(base) ?? 0n;
      reserved.quote += totals.get(quote) ?? 0n;
      for (const hash of leaving ?? []) {
        const e = ledger.entries.get(hash);
        if (e === undefined || e.resting === 0n) continue;
        const market = this.params.get(e.order.marketId) as ReservationMarket;
        const all = orderReservation(e.order, e.resting + e.open, market);
        add(all.token, orderReservation(e.order, e.open, market).atoms - all.atoms);
      }
    }
    for (const { order, lots } of added) {
      if (lots <= 0n) continue;
      const market = marketOf(order.marketId);
      if (market === undefined) throw new Error(`reservedByOpenOrders: market ${order.marketId} is unknown`);
      const { token, atoms } = orderReservation(order, lots, market);
      add(token, atoms);
    }
    return reserved;
  }

  /** The account's ledger, every change read first. */
  private accountOf(account: Address): AccountLedger | undefined {
    this.flush();
    return this.accounts.get(account);
  }

  /** Takes the parameters `marketOf` gives for the account's markets; where they changed, totals are computed again. */
  private follow(ledger: AccountLedger, marketOf: (marketId: bigint) => ReservationMarket | undefined): void {
    for (const marketId of ledger.markets.keys()) {
      const market = marketOf(marketId);
      if (market === undefined) throw new Error(`reservedByOpenOrders: market ${marketId} is unknown`);
      const known = this.params.get(marketId);
      if (known !== undefined && sameMarket(this.tokenKeys, known, market)) continue;
      this.params.set(marketId, market);
      for (const other of this.accounts.values()) if (other.markets.has(marketId)) other.totals = undefined;
    }
  }

  /** The account's totals, computed again if they were dropped (every one of its markets is in `params`). */
  private totalsOf(ledger: AccountLedger): Map<string, bigint> {
    if (ledger.totals !== undefined) return ledger.totals;
    const totals = new Map<string, bigint>();
    for (const e of ledger.entries.values()) {
      const { token, atoms } = orderReservation(
        e.order,
        e.resting + e.open,
        this.params.get(e.order.marketId) as ReservationMarket,
      );
      const key = this.tokenKeys.of(token);
      totals.set(key, (totals.get(key) ?? 0n) + atoms);
    }
    ledger.totals = totals;
    return totals;
  }

  private flush(): void {
    if (this.rebuildPending) {
      this.rebuildPending = false;
      this.accounts.clear();
      this.entryOrders.clear();
      for (const { hash, order } of this.sources.reserving()) this.read(hash, order);
      return;
    }
    for (const [hash, order] of this.dirty) this.read(hash, order);
    this.dirty.clear();
  }

  /** Reads the order's lots again and moves its entry (and its account's totals) to them. */
  private read(hash: Hex, known: Order | undefined): void {
    const order = known ?? this.entryOrders.get(hash) ?? this.sources.orderOf(hash);
    if (order === undefined) return;
    const ledger = this.accounts.get(order.maker);
    const before = ledger?.entries.get(hash);
    const after: Entry = {
      order: before?.order ?? order,
      resting: this.sources.restingLots(hash, order),
      open: this.sources.openLots(hash),
    };
    if (before !== undefined && before.resting === after.resting && before.open === after.open) return;
    if (ledger !== undefined && before !== undefined) this.change(ledger, hash, before, -1);
    if (after.resting + after.open <= 0n) {
      if (ledger !== undefined && ledger.entries.size === 0) this.accounts.delete(order.maker);
      return;
    }
    let target = ledger;
    if (target === undefined) {
      target = { entries: new Map(), markets: new Map(), nonces: new Map(), totals: new Map() };
      this.accounts.set(order.maker, target);
    }
    this.change(target, hash, after, 1);
  }

  /** Adds (`sign` 1) or takes out (-1) an entry. */
  private change(ledger: AccountLedger, hash: Hex, e: Entry, sign: 1 | -1): void {
    if (sign === 1) {
      ledger.entries.set(hash, e);
      this.entryOrders.set(hash, e.order);
    } else {
      ledger.entries.delete(hash);
      this.entryOrders.delete(hash);
    }
    count(ledger.markets, e.order.marketId, sign);
    count(ledger.nonces, e.order.nonce, sign);
    if (ledger.totals === undefined) return;
    const market = this.params.get(e.order.marketId);
    if (market === undefined) {
      ledger.totals = undefined;
      return;
    }
    const { token, atoms } = orderReservation(e.order, e.resting + e.open, market);
    const key = this.tokenKeys.of(token);
    const held = ledger.totals.get(key) ?? 0n;
    const total = sign === 1 ? held + atoms : held - atoms;
    if (total !== 0n) ledger.totals.set(key, total);
    else ledger.totals.delete(key);
  }
}

const NO_ORDERS: readonly ReservingOrder[] = [];
const NO_MARKETS: readonly bigint[] = [];

/** One account's open orders as one risk read asks about them: one object, no closures an order. */
class AccountOpenOrders implements OpenOrders {
  constructor(
    private readonly ledger: ReservationLedger,
    private readonly account: Address,
    private readonly list: () => ReservingOrder[],
    private readonly leaving: ReadonlySet<Hex> | undefined,
    private readonly added: readonly ReservingOrder[],
  ) {}

  marketIds(): Iterable<bigint> {
    return this.ledger.marketIdsOf(this.account, this.added);
  }

  reserved(
    marketOf: (marketId: bigint) => ReservationMarket | undefined,
    tokens: { base: Address; quote: Address },
  ): Reservation {
    return this.ledger.reserved(this.account, marketOf, tokens, this.leaving, this.added);
  }

  nonceInUse(nonce: bigint): boolean {
    return this.ledger.nonceInUseOf(this.account, nonce, this.leaving, this.added);
  }

  orders(): ReservingOrder[] {
    return [...this.list(), ...this.added];
  }
}

/** A book that tells `touch` of every order whose resting lots it changes. */
export class TouchingBook extends OrderBook {
  constructor(
    options: { nextSeq?: number },
    private readonly touch: (id: Hex) => void,
  ) {
    super(options);
  }

  override place(order: NewOrder): PlaceResult {
    const result = super.place(order);
    this.touch(order.id as Hex);
    for (const f of result.fills) this.touch(f.makerId as Hex);
    for (const o of result.selfTradeCancelled) this.touch(o.id as Hex);
    return result;
  }

  override cancel(id: string): ChangeResult | undefined {
    this.touch(id as Hex);
    return super.cancel(id);
  }

  override reduce(id: string, lots: bigint): ChangeResult | undefined {
    this.touch(id as Hex);
    return super.reduce(id, lots);
  }

  override increase(id: string, lots: bigint): ChangeResult | undefined {
    this.touch(id as Hex);
    return super.increase(id, lots);
  }

  override restore(order: RestingOrder): RestoreResult {
    this.touch(order.id as Hex);
    return super.restore(order);
  }
}
