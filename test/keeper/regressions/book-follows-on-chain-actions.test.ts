/**
 * Issue 12 (the keeper's side): the keeper did not see a trader's on-chain actions. Orders cancelled
 * on-chain stayed in the book as phantom liquidity, and takers got fills the chain later skipped.
 * Now each block the keeper reads the trader events (`followBlock`: `OrderCancelled`,
 * `NonceFloorRaised`, `WithdrawalRequested`, `CancelAfterChanged`, `WindowLimitChangeScheduled`, …)
 * and pulls the orders of the accounts they name that can no longer fill — within that block, with
 * a `chain-<code>` reason on the trader's private feed. One case per back-out path:
 *
 *      alice rests two asks (nonce 1: 10 lots, older; nonce 2: 4 lots, newer)
 *      alice acts on-chain                              → next block: the book loses what cannot fill
 *        cancel([1])                                    → nonce 1 pulled   (chain-CANCELLED)
 *        cancelUpTo(2)                                  → nonce 1 pulled   (chain-NONCE_BELOW_FLOOR)
 *        requestWithdraw(base, all but 10 lots)         → nonce 2 pulled   (chain-INSUFFICIENT_BALANCE, newest first)
 *        setWindowLimit(1, 5 lots / hour)               → nonce 1 pulled   (chain-WINDOW_LIMIT)
 *        setCancelAfter(earlier)                        → both pulled once the deadline is within the horizon
 *
 * Fails without the change: nothing follows these events, both asks stay in the book.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hash, Hex } from "viem";
import { cancel, cancelUpTo, requestWithdraw, setCancelAfter, setWindowLimit } from "@crossbook/sdk";
import { followBlock } from "../../../keeper/src/keeper";
import { LOT_SIZE } from "../../helpers/fixture";
import { publicClient, sdkFixture, walletClient } from "../../sdk/support";
import {
  FeedClient,
  feedLogin,
  newTrader,
  orderOf,
  signedBody,
  http,
  startKeeper,
  type Keeper,
  type Trader,
} from "../api/support";
import { cachedChainFacts } from "../support";

/** The keeper's settlement horizon in these tests (below the firmness delay of 30 s). */
const HORIZON = 10;

interface Case {
  name: string;
  act(k: Keeper, alice: Trader): Promise<Hash>;
  /** Which of the two asks leave the book, and with what reason. */
  pulled: Partial<Record<"older" | "newer", string>>;
  /** Seconds to let pass (then a block) before the keeper's step: a deadline coming within the horizon. */
  wait?: number;
}

const CASES: Case[] = [
  {
    name: "an on-chain cancel (not yet in force) pulls the cancelled order",
    act: (k, alice) => cancel(walletClient(alice.account), { exchange: k.env.addresses.exchange, nonces: [1n] }),
    pulled: { older: "chain-CANCELLED" },
  },
  {
    name: "a nonce floor raise (not yet in force) pulls the orders below it",
    act: (k, alice) => cancelUpTo(walletClient(alice.account), { exchange: k.env.addresses.exchange, minNonce: 2n }),
    pulled: { older: "chain-NONCE_BELOW_FLOOR" },
  },
  {
    name: "a withdrawal request pulls, newest first, the orders its balance no longer covers",
    act: (k, alice) =>
      requestWithdraw(walletClient(alice.account), {
        exchange: k.env.addresses.exchange,
        token: k.env.addresses.base,
        amount: 1_000n * LOT_SIZE - 10n * LOT_SIZE,
      }),
    pulled: { newer: "chain-INSUFFICIENT_BALANCE" },
  },
  {
    name: "a tighter window limit (not yet in force) pulls the orders larger than it",
    act: (k, alice) =>
      setWindowLimit(walletClient(alice.account), {
        exchange: k.env.addresses.exchange,
        marketId: 1n,
        maxLots: 5n,
        windowSeconds: 3600n,
      }),
    pulled: { older: "chain-WINDOW_LIMIT" },
  },
  {
    name: "an earlier cancel-after deadline pulls the account's orders in the block it comes within the horizon",
    act: async (k, alice) => {
      const now = BigInt(await time.latest());
      return setCancelAfter(walletClient(alice.account), { exchange: k.env.addresses.exchange, deadline: now + 5n });
    },
    // Stored as t + D - 1 (firm); the keeper pulls once it is within the horizon of the chain's time.
    wait: 30 - HORIZON,
    pulled: { older: "chain-CANCEL_AFTER_PASSED", newer: "chain-CANCEL_AFTER_PASSED" },
  },
];

async function setup() {
  const env = await sdkFixture();
  const alice = await newTrader(env);
  return { env, alice };
}

describe("regression (issue 12): the keeper's book follows the traders' on-chain actions", function () {
  let k: Keeper | undefined;
  let feed: FeedClient | undefined;
  afterEach(async () => {
    feed?.close();
    await k?.close();
    k = undefined;
    feed = undefined;
  });

  for (const c of CASES) {
    it(`${c.name}, within one block, and tells the trader on its feed`, async () => {
      const { env, alice } = await loadFixture(setup);
      const facts = cachedChainFacts(env.addresses.exchange);
      k = await startKeeper({ env, engine: (store) => ({ ...facts.engine(store), horizonSeconds: HORIZON }) });
      const keeper = k;
      if (c.name.includes("cancel-after")) {
        // A first deadline far off, set before the orders (it does not stop them).
        const far = BigInt(await time.latest()) + 86_400n;
        await wait(
          await setCancelAfter(walletClient(alice.account), { exchange: env.addresses.exchange, deadline: far }),
        );
      }
      await followBlock(facts.reads, keeper.engine);

      const place = async (nonce: bigint, lots: bigint): Promise<Hex> => {
        const body = await signedBody(keeper, alice, orderOf(alice, { isBuy: false, nonce, lots }));
        const answer = await http(keeper.api.url, "POST", "/v1/orders", body);
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        return answer.body.hash as Hex;
      };
      const hashes = { older: await place(1n, 10n), newer: await place(2n, 4n) };
      feed = await FeedClient.open(keeper.api.wsUrl);
      await feedLogin(feed, keeper, alice);
      feed.send({ op: "subscribe", channel: "orders" });
      await feed.next((m) => m.type === "snapshot" && m.channel === "orders");

      await wait(await c.act(keeper, alice));
      if (c.wait !== undefined) {
        // Not yet within the horizon: nothing moves.
        await followBlock(facts.reads, keeper.engine);
        expect(restingLots(keeper)).to.equal(14n);
        await time.increase(c.wait);
      }
      await followBlock(facts.reads, keeper.engine);

      for (const which of ["older", "newer"] as const) {
        const reason = c.pulled[which];
        const stored = keeper.store.getOrder(hashes[which]);
        if (reason === undefined) {
          expect(stored?.status, which).to.equal("open");
          expect(keeper.engine.book(1n)?.get(hashes[which]), which).to.not.equal(undefined);
          continue;
        }
        expect(stored, which).to.include({ status: "cancelled", reason });
        expect(keeper.engine.book(1n)?.get(hashes[which]), which).to.equal(undefined);
        const update = await feed.next(
          (m) => m.type === "order" && m.update?.hash === hashes[which] && m.update?.event === "cancelled",
        );
        expect(update.update).to.include({ event: "cancelled", reason });
      }
      // The book shows only what can fill: a taker of everything finds just that.
      const left = (c.pulled.older === undefined ? 10n : 0n) + (c.pulled.newer === undefined ? 4n : 0n);
      expect(restingLots(keeper)).to.equal(left);
    });
  }

  it("an order under a cancelled nonce or below a raised floor is refused while the delay runs", async () => {
    const { env, alice } = await loadFixture(setup);
    const facts = cachedChainFacts(env.addresses.exchange);
    k = await startKeeper({ env, engine: (store) => facts.engine(store) });
    const keeper = k;
    await wait(await cancel(walletClient(alice.account), { exchange: env.addresses.exchange, nonces: [7n] }));
    await wait(await cancelUpTo(walletClient(alice.account), { exchange: env.addresses.exchange, minNonce: 5n }));
    await followBlock(facts.reads, keeper.engine);
    const refused = async (nonce: bigint) => {
      const body = await signedBody(keeper, alice, orderOf(alice, { isBuy: false, nonce }));
      return (await http(keeper.api.url, "POST", "/v1/orders", body)).body.error?.code as string;
    };
    expect(await refused(7n)).to.equal("CANCELLED");
    expect(await refused(4n)).to.equal("NONCE_BELOW_FLOOR");
  });
});

async function wait(hash: Hash): Promise<void> {
  await publicClient.waitForTransactionReceipt({ hash });
}

function restingLots(k: Keeper): bigint {
  return (k.engine.book(1n)?.restingOrders() ?? []).reduce((sum, o) => sum + o.lots, 0n);
}

export type { Address };
