/**
 * signOrder with every kind of signer: the committed vectors' signatures reproduced, and orders
 * signed by the SDK accepted by the Exchange on the Hardhat network.
 *
 *   maker (signer under test) ── sells 10 lots, post-only ──▶  ◀── buys 10 lots ── bob (ethers, SDK-signed)
 *                                      keeper settles one fill; the Exchange emits Traded
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { toAccount, privateKeyToAccount } from "viem/accounts";
import { createWalletClient, type Address } from "viem";
import {
  OrderValidationError,
  POST_ONLY,
  SignerError,
  deposit,
  encodeOrderKey,
  orderSignerKind,
  signOrder,
  verifyOrderSignature,
  type Order,
  type OrderSigner,
} from "@crossbook/sdk";
import { LOT_SIZE } from "../helpers/fixture";
import {
  VECTORS,
  ethers,
  fund,
  fundedLocalAccount,
  hardhat,
  mint,
  order,
  publicClient,
  sdkFixture,
  settleAsKeeper,
  transport,
  walletClient,
  type SdkEnv,
} from "./support";

const PRICE = 200_000n;
const LOTS = 10n;
const QUOTE = 10n ** 12n;

/** Bob's bid for 10 lots, signed through the SDK with his ethers signer, crossing any ask at PRICE. */
async function bobBuys(env: SdkEnv) {
  await fund(env.exchange, env.quote, env.bob, QUOTE);
  const bid = order({ maker: env.bob.address as Address, isBuy: true, nonce: 1n, priceTicks: PRICE, lots: LOTS });
  return { order: bid, signature: await signOrder({ signer: env.bob, order: bid, domain: env.sdkDomain }) };
}

/** Settles `ask` (made) against bob's bid (taken) and checks that the fill executed. */
async function expectAccepted(env: SdkEnv, ask: Order, signature: `0x${string}`) {
  expect(await verifyOrderSignature(publicClient, { order: ask, signature, domain: env.sdkDomain })).to.equal(true);
  const bid = await bobBuys(env);
  const { trades, skippedFills } = await settleAsKeeper(
    env,
    [{ order: ask, signature }, bid],
    [{ makerIndex: 0n, takerIndex: 1n, lots: LOTS }],
  );
  expect(skippedFills).to.deep.equal([]);
  expect(trades).to.have.lengthOf(1);
  expect(trades[0]).to.include({ marketId: 1n, makerIsBuy: false, priceTicks: PRICE, lots: LOTS });
  expect(encodeOrderKey(trades[0].makerOrder)).to.equal(encodeOrderKey({ account: ask.maker, nonce: ask.nonce }));
  expect(await env.exchange.balanceOf(ask.maker, env.addresses.base)).to.equal(0n);
}

const askOf = (maker: Address): Order =>
  order({ maker, isBuy: false, flags: POST_ONLY, nonce: 7n, priceTicks: PRICE, lots: LOTS });

describe("sdk/signOrder", function () {
  describe("the committed vectors", function () {
    it("are signed to the vector's exact signature by a viem local account (RFC 6979, v 27/28)", async function () {
      for (const v of VECTORS) {
        const signer = privateKeyToAccount(v.privateKey);
        expect(await signOrder({ signer, order: v.order, domain: v.domain }), v.name).to.equal(v.signature);
      }
    });

    it("are signed to the same signature by a local account that can only sign typed data", async function () {
      for (const v of VECTORS.slice(0, 3)) {
        const { signTypedData, signMessage, signTransaction, address } = privateKeyToAccount(v.privateKey);
        const signer = toAccount({ address, signTypedData, signMessage, signTransaction });
        expect(signer.sign).to.equal(undefined);
        expect(await signOrder({ signer, order: v.order, domain: v.domain }), v.name).to.equal(v.signature);
      }
    });

    it("are signed to the same signature by an ethers Wallet", async function () {
      for (const v of VECTORS.slice(0, 3)) {
        const signer = new ethers.Wallet(v.privateKey);
        expect(orderSignerKind(signer)).to.equal("ethersSigner");
        expect(await signOrder({ signer, order: v.order, domain: v.domain }), v.name).to.equal(v.signature);
      }
    });
  });

  describe("an SDK-signed order is accepted by the Exchange", function () {
    it("signed by a viem local account (privateKeyToAccount)", async function () {
      const env = await loadFixture(sdkFixture);
      const account = await fundedLocalAccount();
      expect(orderSignerKind(account)).to.equal("localAccount");
      await mint(env.base, account.address, LOTS * LOT_SIZE);
      await deposit(walletClient(account), {
        exchange: env.addresses.exchange,
        token: env.addresses.base,
        amount: LOTS * LOT_SIZE,
      });
      const ask = askOf(account.address);
      await expectAccepted(env, ask, await signOrder({ signer: account, order: ask, domain: env.sdkDomain }));
    });

    it("signed by a viem wallet client with a JSON-RPC account (eth_signTypedData_v4 on the node)", async function () {
      const env = await loadFixture(sdkFixture);
      await fund(env.exchange, env.base, env.carol, LOTS * LOT_SIZE);
      const client = walletClient(env.carol.address as Address);
      expect(client.account.type).to.equal("json-rpc");
      expect(orderSignerKind(client)).to.equal("walletClient");
      const ask = askOf(env.carol.address as Address);
      await expectAccepted(env, ask, await signOrder({ signer: client, order: ask, domain: env.sdkDomain }));
    });

    it("signed by an ethers v6 signer", async function () {
      const env = await loadFixture(sdkFixture);
      await fund(env.exchange, env.base, env.alice, LOTS * LOT_SIZE);
      expect(orderSignerKind(env.alice)).to.equal("ethersSigner");
      const ask = askOf(env.alice.address as Address);
      await expectAccepted(env, ask, await signOrder({ signer: env.alice, order: ask, domain: env.sdkDomain }));
    });

    it("made by an ERC-1271 wallet and signed by its owner; verifyOrderSignature turns false once the wallet rejects", async function () {
      const env = await loadFixture(sdkFixture);
      const owner = env.dave;
      const wallet = await ethers.deployContract("MockERC1271Wallet", [owner.address]);
      const walletAddress = (await wallet.getAddress()) as Address;
      await mint(env.base, walletAddress, LOTS * LOT_SIZE);
      await (await wallet.connect(owner).deposit(env.addresses.exchange, env.addresses.base, LOTS * LOT_SIZE)).wait();
      const ask = askOf(walletAddress);
      const signature = await signOrder({ signer: owner, order: ask, domain: env.sdkDomain });
      await expectAccepted(env, ask, signature);

      await (await wallet.connect(owner).setMode(1)).wait(); // Reject
      expect(await verifyOrderSignature(publicClient, { order: ask, signature, domain: env.sdkDomain })).to.equal(
        false,
      );
    });
  });

  describe("failures", function () {
    it("a signer of no known kind is a SignerError SIGNER_UNSUPPORTED", async function () {
      const v = VECTORS[0];
      for (const signer of [{}, null, "0x1234", { address: v.order.maker }]) {
        const error = await signOrder({
          signer: signer as unknown as OrderSigner,
          order: v.order,
          domain: v.domain,
        }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(SignerError).with.property("code", "SIGNER_UNSUPPORTED");
      }
    });

    it("a wallet client without an account is a SignerError SIGNER_NO_ACCOUNT", async function () {
      const v = VECTORS[0];
      const client = createWalletClient({ chain: hardhat, transport });
      const error = await signOrder({ signer: client, order: v.order, domain: v.domain }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(SignerError).with.property("code", "SIGNER_NO_ACCOUNT");
    });

    it("an order with a field out of range is an OrderValidationError, whatever the signer, before any signing", async function () {
      const v = VECTORS[0];
      const bad = { ...v.order, lots: 2n ** 64n };
      let asked = false;
      const ethersLike = {
        getAddress: async () => v.order.maker,
        signTypedData: async () => {
          asked = true;
          return "0x";
        },
      };
      for (const signer of [privateKeyToAccount(v.privateKey), ethersLike]) {
        const error = await signOrder({ signer, order: bad, domain: v.domain }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(OrderValidationError);
      }
      expect(asked).to.equal(false);
    });

    it("a signer that fails is a SignerError SIGNATURE_FAILED with the signer's error as cause", async function () {
      const v = VECTORS[0];
      const refusal = new Error("User rejected the request.");
      const ethersLike = { getAddress: async () => v.order.maker, signTypedData: async () => Promise.reject(refusal) };
      const error = await signOrder({ signer: ethersLike, order: v.order, domain: v.domain }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(SignerError).with.property("code", "SIGNATURE_FAILED");
      expect((error as SignerError).cause).to.equal(refusal);
    });
  });
});
