import { expect } from "chai";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import { RestingOrders } from "../../../keeper/src/engine/resting";
import { makeOrder } from "../../helpers/orders";

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const MAKER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const expiring = (expiry: bigint) =>
  makeOrder({ maker: MAKER, isBuy: true, nonce: 1n, priceTicks: 100n, expiry }) as Order;

describe("keeper engine: the resting orders by expiry", () => {
  it("gives the expired orders earliest first, by hash among those of one time, and forgets deleted ones", () => {
    const resting = new RestingOrders();
    resting.set(hashOf(9), expiring(200n));
    resting.set(hashOf(3), expiring(100n));
    resting.set(hashOf(7), expiring(100n));
    resting.set(hashOf(5), expiring(100n));
    resting.set(hashOf(1), expiring(300n));
    resting.set(hashOf(5), expiring(250n)); // already resting: kept as it was
    expect(resting.size).to.equal(5);
    expect(resting.expiredBefore(100n)).to.deep.equal([]);
    expect(resting.expiredBefore(101n)).to.deep.equal([hashOf(3), hashOf(5), hashOf(7)]);
    expect(resting.expiredBefore(301n)).to.deep.equal([hashOf(3), hashOf(5), hashOf(7), hashOf(9), hashOf(1)]);

    resting.delete(hashOf(5));
    resting.delete(hashOf(9)); // the last of its time
    resting.delete(hashOf(9)); // twice: nothing
    expect(resting.get(hashOf(5))).to.equal(undefined);
    expect(resting.expiredBefore(301n)).to.deep.equal([hashOf(3), hashOf(7), hashOf(1)]);
    resting.set(hashOf(9), expiring(50n)); // back, at another time
    expect(resting.expiredBefore(101n)).to.deep.equal([hashOf(9), hashOf(3), hashOf(7)]);

    resting.clear();
    expect([resting.size, resting.expiredBefore(1_000n)]).to.deep.equal([0, []]);
  });

  it("gives 200,000 orders of one expiry time at once (a spread of them into one push overflows the stack)", () => {
    const resting = new RestingOrders();
    const order = expiring(100n);
    for (let n = 1; n <= 200_000; n++) resting.set(hashOf(n), order);
    const expired = resting.expiredBefore(101n);
    expect([expired.length, expired[0], expired[199_999]]).to.deep.equal([200_000, hashOf(1), hashOf(200_000)]);
  });
});
