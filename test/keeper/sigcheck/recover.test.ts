/**
 * keeper/src/sigcheck/recover.ts: the native and pure-JS recoveries give the signer viem gives, and
 * on every kind of bad signature they agree with the SDK's `verifyOrderSignature` and with the
 * chain's own `ecrecover` precompile (called on the Hardhat network), which is what the Exchange uses.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import {
  concatHex,
  createClient,
  custom,
  hexToBigInt,
  isAddressEqual,
  numberToHex,
  recoverTypedDataAddress,
  type Address,
  type Hex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hashOrder, orderTypedData, sdkReady, signOrder, verifyOrderSignature, type Order } from "@crossbook/sdk";
import {
  nativeAvailable,
  recoverOrderSigner,
  recoverOrderSignerJs,
  recoverOrderSignerNative,
} from "../../../keeper/src/sigcheck";

const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n; // the curve order

const offline = createClient({
  transport: custom({
    async request({ method }: { method: string }) {
      if (method === "eth_getCode") return "0x";
      throw new Error(`unexpected ${method}`);
    },
  }),
});

/** What the `ecrecover` precompile answers for `digest` and a 65-byte signature: an address, or undefined. */
async function precompile(digest: Hex, signature: Hex): Promise<Address | undefined> {
  if (signature.length !== 132) return undefined; // the Exchange's `_recover` stops at the length
  const r = `0x${signature.slice(2, 66)}` as Hex;
  const s = `0x${signature.slice(66, 130)}` as Hex;
  const v = numberToHex(hexToBigInt(`0x${signature.slice(130)}`), { size: 32 });
  const data = concatHex([digest, v, r, s]);
  const answer = await ethers.provider.call({ to: "0x0000000000000000000000000000000000000001", data });
  return answer === "0x" ? undefined : (ethers.getAddress(`0x${answer.slice(26)}`) as Address);
}

function sig(r: bigint, s: bigint, v: number): Hex {
  return concatHex([numberToHex(r, { size: 32 }), numberToHex(s, { size: 32 }), numberToHex(v, { size: 1 })]);
}

const account = privateKeyToAccount(generatePrivateKey());
const order: Order = {
  maker: account.address,
  marketId: 3n,
  isBuy: false,
  flags: 0n,
  maxFeeBps: 25n,
  expiry: 4_102_444_800n,
  nonce: 42n,
  priceTicks: 183_450n,
  lots: 7n,
};

describe("sigcheck: recoverOrderSigner", function () {
  let signature: Hex;
  let r: bigint;
  let s: bigint;
  let v: number;

  before(async function () {
    await sdkReady();
    signature = await signOrder({ signer: account, order, domain });
    r = hexToBigInt(`0x${signature.slice(2, 66)}`);
    s = hexToBigInt(`0x${signature.slice(66, 130)}`);
    v = Number(hexToBigInt(`0x${signature.slice(130)}`));
  });

  it("the native binding loads on this machine (prebuilt libsecp256k1)", function () {
    expect(nativeAvailable).to.equal(true);
  });

  it("native and pure JS recover the signer viem recovers, on random orders and keys", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          marketId: fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }),
          isBuy: fc.boolean(),
          flags: fc.bigInt({ min: 0n, max: 255n }),
          maxFeeBps: fc.bigInt({ min: 0n, max: 2n ** 16n - 1n }),
          expiry: fc.bigInt({ min: 0n, max: 2n ** 40n - 1n }),
          nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          priceTicks: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          lots: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        }),
        fc.bigInt({ min: 1n, max: N - 1n }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async (fields, key, chainId) => {
          const signer = privateKeyToAccount(numberToHex(key, { size: 32 }));
          const randomOrder: Order = { maker: signer.address, ...fields };
          const randomDomain = { chainId, verifyingContract: domain.verifyingContract };
          const signed = await signOrder({ signer, order: randomOrder, domain: randomDomain });
          const viem = await recoverTypedDataAddress({
            ...orderTypedData({ order: randomOrder, domain: randomDomain }),
            signature: signed,
          } as never);
          expect(viem).to.equal(signer.address);
          expect(recoverOrderSignerNative(randomOrder, signed, randomDomain)).to.equal(signer.address);
          expect(await recoverOrderSignerJs(randomOrder, signed, randomDomain)).to.equal(signer.address);
        },
      ),
      { numRuns: 25 },
    );
  });

  /** Each case: the order and signature checked, and whether the maker's signature must be accepted. */
  const cases: [string, () => { order: Order; signature: Hex; domain?: typeof domain }, boolean][] = [
    ["the maker's own signature", () => ({ order, signature }), true],
    [
      "the high-s twin of the maker's signature (the precompile accepts it)",
      () => ({ order, signature: sig(r, N - s, v === 27 ? 28 : 27) }),
      true,
    ],
    [
      "a signature under another chain's domain",
      () => ({ order, signature, domain: { ...domain, chainId: 1 } }),
      false,
    ],
    [
      "a signature under another exchange's domain",
      () => ({ order, signature, domain: { ...domain, verifyingContract: account.address } }),
      false,
    ],
    ["an order with one field changed", () => ({ order: { ...order, lots: order.lots + 1n }, signature }), false],
    ["a signature with one bit of r flipped", () => ({ order, signature: sig(r ^ 1n, s, v) }), false],
    ["a signature with one bit of s flipped", () => ({ order, signature: sig(r, s ^ 1n, v) }), false],
    ["a signature with the other v", () => ({ order, signature: sig(r, s, v === 27 ? 28 : 27) }), false],
    ["v given as 0 or 1 (the precompile wants 27 or 28)", () => ({ order, signature: sig(r, s, v - 27) }), false],
    ["v = 29", () => ({ order, signature: sig(r, s, 29) }), false],
    ["a 64-byte signature (no v)", () => ({ order, signature: signature.slice(0, 130) as Hex }), false],
    ["a 66-byte signature", () => ({ order, signature: `${signature}00` as Hex }), false],
    ["an odd number of hex digits", () => ({ order, signature: signature.slice(0, 131) as Hex }), false],
    ["an empty signature", () => ({ order, signature: "0x" }), false],
    ["r = 0", () => ({ order, signature: sig(0n, s, v) }), false],
    ["s = 0", () => ({ order, signature: sig(r, 0n, v) }), false],
    ["s = n", () => ({ order, signature: sig(r, N, v) }), false],
    ["r = n + r (out of range)", () => ({ order, signature: sig(r + N < 2n ** 256n ? r + N : N, s, v) }), false],
    ["s = 2^256 - 1", () => ({ order, signature: sig(r, 2n ** 256n - 1n, v) }), false],
  ];

  for (const [name, make, accepted] of cases) {
    it(`agrees with verifyOrderSignature and ecrecover on ${name}`, async function () {
      const c = make();
      const d = c.domain ?? domain;
      const native = recoverOrderSignerNative(c.order, c.signature, d);
      const js = await recoverOrderSignerJs(c.order, c.signature, d);
      const either = await recoverOrderSigner(c.order, c.signature, d);
      const sdk = await verifyOrderSignature(offline, { order: c.order, signature: c.signature, domain: d });
      expect(js, "js vs native").to.equal(native);
      expect(either, "default vs native").to.equal(native);
      const isMaker = native !== undefined && isAddressEqual(native, c.order.maker);
      expect(isMaker, "recovers to the maker").to.equal(accepted);
      expect(sdk, "verifyOrderSignature").to.equal(accepted);
      const chain = await precompile(hashOrder({ order: c.order, domain: d }), c.signature);
      expect(chain, "the ecrecover precompile").to.equal(native);
    });
  }

  it("answers undefined, without throwing, for signatures and orders that are not hex or not orders", async function () {
    const garbage: unknown[] = [undefined, null, 42, {}, "0X" + signature.slice(2), "0x" + "zz".repeat(65), "💥"];
    for (const bad of garbage) {
      expect(recoverOrderSignerNative(order, bad as Hex, domain), String(bad)).to.equal(undefined);
      expect(await recoverOrderSignerJs(order, bad as Hex, domain), String(bad)).to.equal(undefined);
    }
    for (const bad of [null, 7, { ...order, lots: -1n }, { ...order, maker: "0x1234" }, { ...order, nonce: 1 }]) {
      expect(recoverOrderSignerNative(bad as Order, signature, domain), JSON.stringify(String(bad))).to.equal(
        undefined,
      );
    }
  });

  it("throws for a malformed domain: that is the keeper's configuration, not the trader's input", function () {
    expect(() =>
      recoverOrderSignerNative(order, signature, { chainId: -1, verifyingContract: domain.verifyingContract }),
    ).to.throw(/chain id/i);
  });

  it("returns a checksummed address", async function () {
    const signer = recoverOrderSignerNative(order, signature, domain);
    expect(signer).to.equal(ethers.getAddress(account.address.toLowerCase()));
  });
});
