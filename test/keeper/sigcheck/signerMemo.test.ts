import { expect } from "chai";
import type { Address, Hex } from "viem";
import type { ExchangeDomainParameters, Order } from "@crossbook/sdk";
import { SignerMemo } from "../../../keeper/src/sigcheck/signerMemo";

const MAKER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Address;
const SIG = `0x${"ab".repeat(65)}` as Hex;
const DOMAIN: ExchangeDomainParameters = {
  chainId: 31337n,
  verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
};

const order: Order = {
  maker: MAKER,
  marketId: 1n,
  isBuy: true,
  flags: 1n,
  maxFeeBps: 10n,
  expiry: 4_102_444_800n,
  nonce: 7n,
  priceTicks: 190_000n,
  lots: 3n,
};
/** The order as a frame carries it: decimal strings, a JSON number, the maker in lower case. */
const wire = {
  maker: MAKER.toLowerCase(),
  marketId: "1",
  isBuy: true,
  flags: 1,
  maxFeeBps: "10",
  expiry: "4102444800",
  nonce: "7",
  priceTicks: "190000",
  lots: "3",
};

describe("keeper: the memo of order signers", () => {
  it("answers a signer a gateway vouched for only for the same order, signature and domain", async () => {
    const memo = new SignerMemo();
    memo.vouch(wire, SIG, DOMAIN, MAKER);
    expect(await memo.get(order, SIG, DOMAIN)).to.equal(MAKER);
    expect(await memo.get({ ...order, maker: MAKER.toLowerCase() as Address }, SIG, DOMAIN)).to.equal(MAKER);
    // Any other field, signature or domain: not known (recovered instead).
    for (const field of ["marketId", "flags", "maxFeeBps", "expiry", "nonce", "priceTicks", "lots"] as const)
      expect(memo.get({ ...order, [field]: order[field] + 1n }, SIG, DOMAIN), field).to.equal(undefined);
    expect(memo.get({ ...order, isBuy: false }, SIG, DOMAIN)).to.equal(undefined);
    expect(memo.get({ ...order, maker: OTHER }, SIG, DOMAIN)).to.equal(undefined);
    expect(memo.get(order, `0x${"cd".repeat(65)}`, DOMAIN)).to.equal(undefined);
    expect(memo.get(order, SIG, { ...DOMAIN, chainId: 1n })).to.equal(undefined);
    expect(memo.get(order, SIG, { ...DOMAIN, verifyingContract: OTHER })).to.equal(undefined);
  });

  it("vouches for nothing whose fields are not an order's as JSON carries it", () => {
    const memo = new SignerMemo();
    const shapes: unknown[] = [
      { ...wire, isBuy: "true" },
      { ...wire, nonce: 7n },
      { ...wire, lots: undefined },
      { ...wire, maker: 1 },
      "an order",
      null,
    ];
    for (const shape of shapes) memo.vouch(shape, SIG, DOMAIN, MAKER);
    memo.vouch(wire, 42, DOMAIN, MAKER);
    expect(memo.get(order, SIG, DOMAIN)).to.equal(undefined);
  });

  it("remembers a recovered signer for the order it recovered, and the newest answer for a signature", async () => {
    const memo = new SignerMemo();
    const recovered = memo.remember(order, SIG, DOMAIN, Promise.resolve(MAKER));
    expect(memo.get(order, SIG, DOMAIN)).to.equal(recovered);
    // The same signature on another order (copied by someone else): recovered, and remembered instead.
    memo.remember({ ...order, nonce: 8n }, SIG, DOMAIN, Promise.resolve(OTHER));
    expect(memo.get(order, SIG, DOMAIN)).to.equal(undefined);
    expect(await memo.get({ ...order, nonce: 8n }, SIG, DOMAIN)).to.equal(OTHER);
  });

  it("forgets the oldest signature beyond its capacity", () => {
    const memo = new SignerMemo(2);
    const sig = (n: number) => `0x${n.toString(16).padStart(130, "0")}` as Hex;
    for (const n of [1, 2, 3]) memo.remember({ ...order, nonce: BigInt(n) }, sig(n), DOMAIN, Promise.resolve(MAKER));
    expect(memo.get({ ...order, nonce: 1n }, sig(1), DOMAIN)).to.equal(undefined);
    expect(memo.get({ ...order, nonce: 2n }, sig(2), DOMAIN)).to.not.equal(undefined);
    expect(memo.get({ ...order, nonce: 3n }, sig(3), DOMAIN)).to.not.equal(undefined);
  });
});
