/**
 * Issue 15: a shard leader's CPU an order at saturation (`npm run bench:shard`). A shard is told
 * each order's signer by the gateway that recovered it: the channel hands it to the keeper's memo
 * of signers when the frame arrives (`SignerMemo.vouch`), and the engine's precheck and risk check
 * ask the memo when the order's turn comes. The memo kept 1,024 signatures, oldest out first, so
 * with more orders than that between a frame's arrival and its risk check (frames waiting in the
 * intake, orders waiting behind their account's earlier ones) the gateway's word was gone and the
 * shard recovered the signature itself: at 4,096 frames in flight, 98 % of them, about a seventh of
 * its CPU an order. The memo now holds what the intake can hold.
 *
 *   gateway ══ 1,200 frames, one burst ══▶ shard: every order accepted, no signature recovered
 */
import { expect } from "chai";
import type { Order } from "@crossbook/sdk";
import type { ForwardedAnswer } from "../../../keeper/src/api/gatewayChannel";
import { DEFAULT_INTAKE_LIMITS } from "../../../keeper/src/api/intake";
import { ShardLink } from "../../../keeper/src/cluster/shardLinks";
import { SIGNER_MEMO_CAPACITY, SignerMemo } from "../../../keeper/src/sigcheck/signerMemo";
import { makeOrder } from "../../helpers/orders";
import {
  newTrader,
  orderOf,
  signedBody,
  startVouchingKeeper,
  wireOrder,
  type Keeper,
  type Trader,
} from "../api/support";

const SECRET = "a cluster secret for the tests";

describe("regression: a gateway's signers outlast the orders the intake holds", function () {
  this.timeout(300_000);

  it("a memo as the keeper makes it holds every order the intake can hold at once", () => {
    const { maxInFlight, maxQueued } = DEFAULT_INTAKE_LIMITS;
    // Past the intake: in flight, waiting their turn, and aside (waiting behind their account).
    expect(SIGNER_MEMO_CAPACITY).to.be.at.least(maxInFlight + 2 * maxQueued);
    const memo = new SignerMemo();
    const domain = { chainId: 31337, verifyingContract: `0x${"5f".repeat(20)}` as const };
    const maker = `0x${"70".repeat(20)}` as const;
    const order = (nonce: number): Order => ({
      ...makeOrder({ maker, isBuy: true, nonce: BigInt(nonce), priceTicks: 200_000n }),
      maker,
    });
    const signature = (nonce: number) => `0x${nonce.toString(16).padStart(130, "0")}` as const;
    for (let nonce = 1; nonce <= maxInFlight + 2 * maxQueued; nonce++) {
      memo.vouch(wireOrder(order(nonce)), signature(nonce), domain, maker);
    }
    expect(memo.get(order(1), signature(1), domain)).to.not.equal(undefined);
  });

  describe("through the gateways' channel", () => {
    let k: Keeper;
    const traders: Trader[] = [];
    /** Signatures the engine recovered itself, by order hash. */
    let recoveredHere: string[];

    before(async () => {
      ({ k, recoveredHere } = await startVouchingKeeper(SECRET));
      for (let i = 0; i < 3; i++) traders.push(await newTrader(k.env));
    });
    after(async () => k?.close());

    it("a shard recovers none of 1,200 signatures a gateway sent in one burst", async () => {
      // 400 resting bids of each of three traders, each trader from its own address (under every
      // per-account and per-address budget), all queued on the link in one turn.
      const orders: [Trader, Order][] = [];
      for (const [t, trader] of traders.entries()) {
        for (let i = 0; i < 400; i++) {
          orders.push([
            trader,
            orderOf(trader, { isBuy: true, lots: 1n, priceTicks: 150_000n + BigInt(t * 1000 + i) }),
          ]);
        }
      }
      const bodies = await Promise.all(orders.map(([trader, order]) => signedBody(k, trader, order)));
      const link = new ShardLink(k.api.url, SECRET, () => {});
      let answers: ForwardedAnswer[];
      try {
        answers = await Promise.all(
          orders.map(([trader], i) =>
            link.request({
              method: "POST",
              url: "/v1/orders",
              headers: { "content-type": "application/json" },
              body: bodies[i],
              client: `10.9.0.${traders.indexOf(trader) + 1}`,
              signer: trader.address, // as a gateway sends it
            }),
          ),
        );
      } finally {
        link.close();
      }
      const refused = answers.filter((a) => a.status !== 201).map((a) => JSON.stringify(a.body));
      expect(refused).to.deep.equal([]);
      expect(recoveredHere).to.have.length(0); // 1,024 kept: a few hundred recovered here
    });
  });
});
