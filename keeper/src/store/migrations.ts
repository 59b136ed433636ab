/**
 * The store's schema, as an ordered list of migrations. A migration is never edited once
 * released: a change to the schema is a new entry at the end. `version` counts up from 1.
 *
 * Quantities that are `uint64` (or wider) on-chain are TEXT decimal strings: SQLite's INTEGER is
 * a signed 64-bit number, which cannot hold 2^64-1. Timestamps are the caller's milliseconds.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "orders, fills, batches, meta",
    sql: `
      CREATE TABLE orders (
        hash            TEXT PRIMARY KEY,
        market          TEXT NOT NULL,
        account         TEXT NOT NULL,
        is_buy          INTEGER NOT NULL CHECK (is_buy IN (0, 1)),
        flags           TEXT NOT NULL,
        max_fee_bps     TEXT NOT NULL,
        expiry          TEXT NOT NULL,
        nonce           TEXT NOT NULL,
        price_ticks     TEXT NOT NULL,
        lots            TEXT NOT NULL,
        signature       TEXT NOT NULL,
        status          TEXT NOT NULL
                        CHECK (status IN ('open', 'partially-filled', 'filled', 'cancelled', 'rejected')),
        reason          TEXT,
        filled_lots     TEXT NOT NULL,
        seq             INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX orders_live_by_market_seq ON orders (market, seq)
        WHERE status IN ('open', 'partially-filled');
      CREATE INDEX orders_by_account ON orders (account);

      CREATE TABLE batches (
        id                        INTEGER PRIMARY KEY AUTOINCREMENT,
        tx_hash                   TEXT NOT NULL UNIQUE,
        raw_tx                    TEXT,
        nonce                     TEXT NOT NULL,
        max_fee_per_gas           TEXT NOT NULL,
        max_priority_fee_per_gas  TEXT NOT NULL,
        status                    TEXT NOT NULL
                                  CHECK (status IN ('sent', 'mined', 'replaced', 'dropped', 'reverted')),
        block_number              TEXT,
        replaces                  INTEGER REFERENCES batches (id),
        created_at                INTEGER NOT NULL,
        updated_at                INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX batches_unfinished ON batches (status) WHERE status IN ('sent', 'replaced');

      CREATE TABLE fills (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id     INTEGER REFERENCES batches (id),
        market       TEXT NOT NULL,
        maker_hash   TEXT NOT NULL REFERENCES orders (hash),
        taker_hash   TEXT NOT NULL REFERENCES orders (hash),
        lots         TEXT NOT NULL,
        price_ticks  TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'settled', 'skipped')),
        skip_reason  TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        CHECK ((status = 'pending') = (batch_id IS NULL) OR status = 'skipped')
      ) STRICT;
      CREATE INDEX fills_by_status ON fills (status, id);
      CREATE INDEX fills_by_batch ON fills (batch_id);

      CREATE TABLE meta (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: "fills by order and by market",
    sql: `
      CREATE INDEX fills_by_maker ON fills (maker_hash);
      CREATE INDEX fills_by_taker ON fills (taker_hash);
      CREATE INDEX fills_by_market ON fills (market, id);
    `,
  },
  {
    version: 3,
    name: "live orders by account, orders by account and nonce",
    sql: `
      CREATE INDEX orders_live_by_account ON orders (account) WHERE status IN ('open', 'partially-filled');
      CREATE INDEX orders_by_account_nonce ON orders (account, nonce);
    `,
  },
  {
    version: 4,
    name: "refusals not stored; settled lots per order; fills by account; account pages; issue 13",
    sql: `
      DELETE FROM orders WHERE status = 'rejected';
      ALTER TABLE orders ADD COLUMN settled_lots TEXT NOT NULL DEFAULT '0';
      UPDATE orders SET settled_lots = (
        SELECT CAST(COALESCE(SUM(CAST(f.lots AS INTEGER)), 0) AS TEXT) FROM fills f
        WHERE f.status = 'settled' AND (f.maker_hash = orders.hash OR f.taker_hash = orders.hash)
      ) WHERE hash IN (SELECT maker_hash FROM fills WHERE status = 'settled' UNION SELECT taker_hash FROM fills WHERE status = 'settled');
      ALTER TABLE fills ADD COLUMN maker_account TEXT;
      ALTER TABLE fills ADD COLUMN taker_account TEXT;
      UPDATE fills SET
        maker_account = (SELECT account FROM orders WHERE hash = fills.maker_hash),
        taker_account = (SELECT account FROM orders WHERE hash = fills.taker_hash);
      DROP INDEX orders_by_account;
      DROP INDEX orders_live_by_account;
      CREATE INDEX orders_by_account_created ON orders (account, created_at, hash);
      CREATE INDEX orders_live_by_account_created ON orders (account, created_at, hash)
        WHERE status IN ('open', 'partially-filled');
      CREATE INDEX fills_open_by_maker_account ON fills (maker_account) WHERE status IN ('pending', 'sent');
      CREATE INDEX fills_open_by_taker_account ON fills (taker_account) WHERE status IN ('pending', 'sent');
    `,
  },
];
