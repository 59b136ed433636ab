import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signOrder, verifyOrderSignature } from "@crossbook/sdk";
import { VECTORS, ethers, order, publicClient, sdkFixture } from "./support";

/** Wallet modes of contracts/test/MockERC1271Wallet.sol. */
const Mode = { Approve: 0, Reject: 1, Revert: 2, BurnGas: 3, ShortData: 4, Garbage: 5, HugeData: 6 } as const;

async function walletFixture() {
  const env = await sdkFixture();
  const wallet = await ethers.deployContract("MockERC1271Wallet", [env.dave.address]);
  const address = (await wallet.getAddress()) as Address;
  const walletOrder = order({ maker: address, isBuy: true, nonce: 3n });
  const signature = await signOrder({ signer: env.dave, order: walletOrder, domain: env.sdkDomain });
  return { ...env, wallet, walletOrder, signature };
}

/** Flips one bit of a signature's `s`: another valid-looking signature that recovers to someone else. */
const damaged = (signature: Hex): Hex =>
  `${signature.slice(0, 70)}${((parseInt(signature[70], 16) ^ 1) & 0xf).toString(16)}${signature.slice(71)}` as Hex;

describe("sdk/verifyOrderSignature", function () {
  it("accepts each vector's signature by its EOA maker, and rejects it for another maker, order or Exchange", async function () {
    for (const v of VECTORS) {
      expect(await verifyOrderSignature(publicClient, v), v.name).to.equal(true);
      const other = privateKeyToAccount(VECTORS[(VECTORS.indexOf(v) + 1) % 3].privateKey).address;
      expect(await verifyOrderSignature(publicClient, { ...v, order: { ...v.order, maker: other } }), v.name).to.equal(
        false,
      );
      expect(
        await verifyOrderSignature(publicClient, { ...v, order: { ...v.order, nonce: v.order.nonce ^ 1n } }),
      ).to.equal(false);
      expect(await verifyOrderSignature(publicClient, { ...v, domain: { ...v.domain, chainId: 1n } })).to.equal(false);
    }
  });

  it("rejects a damaged, short, or v-less signature from an EOA", async function () {
    const v = VECTORS[0];
    for (const signature of [
      damaged(v.signature),
      v.signature.slice(0, 130) as Hex,
      "0x" as Hex,
      `${v.signature.slice(0, 130)}01` as Hex,
    ]) {
      expect(await verifyOrderSignature(publicClient, { ...v, signature }), signature).to.equal(false);
    }
  });

  it("accepts an ERC-1271 wallet's order signed by its owner while the wallet approves", async function () {
    const { walletOrder, signature, sdkDomain } = await loadFixture(walletFixture);
    expect(await verifyOrderSignature(publicClient, { order: walletOrder, signature, domain: sdkDomain })).to.equal(
      true,
    );
    expect(
      await verifyOrderSignature(publicClient, {
        order: walletOrder,
        signature: damaged(signature),
        domain: sdkDomain,
      }),
    ).to.equal(false);
  });

  it("says false for every way a wallet can refuse: reject, revert, burn its gas, a short or dirty answer, a huge one", async function () {
    const { wallet, dave, walletOrder, signature, sdkDomain } = await loadFixture(walletFixture);
    for (const [name, mode] of Object.entries(Mode).filter(([name]) => name !== "Approve")) {
      await (await wallet.connect(dave).setMode(mode)).wait();
      expect(
        await verifyOrderSignature(publicClient, { order: walletOrder, signature, domain: sdkDomain }),
        name,
      ).to.equal(false);
    }
  });

  it("says false for an order whose maker has no code and did not sign it", async function () {
    const { sdkDomain, alice } = await loadFixture(walletFixture);
    const o = order({ maker: alice.address as Address, isBuy: false, nonce: 1n });
    const signature = await signOrder({
      signer: privateKeyToAccount(VECTORS[0].privateKey),
      order: o,
      domain: sdkDomain,
    });
    expect(await verifyOrderSignature(publicClient, { order: o, signature, domain: sdkDomain })).to.equal(false);
  });
});
