/**
 * keeper/src/sigcheck/pool.ts: real worker threads (started through the ts-node bootstrap under
 * hardhat test, and under `ts-node --transpile-only` in a child process), answers matched to
 * requests under concurrency, garbage survived, and threads that end on close.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import * as path from "node:path";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { sdkReady, signOrder, type Order } from "@crossbook/sdk";
import { recoverOrderSignerNative, SignatureVerifierPool } from "../../../keeper/src/sigcheck";

const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
const ROOT = path.resolve(__dirname, "../../..");

async function signedOrders(count: number): Promise<{ order: Order; signature: Hex }[]> {
  const accounts = Array.from({ length: 16 }, () => privateKeyToAccount(generatePrivateKey()));
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const signer = accounts[i % accounts.length];
      const order: Order = {
        maker: signer.address,
        marketId: BigInt(i % 5),
        isBuy: i % 2 === 0,
        flags: 0n,
        maxFeeBps: 10n,
        expiry: 4_102_444_800n,
        nonce: BigInt(i),
        priceTicks: 1000n + BigInt(i),
        lots: 1n + BigInt(i % 9),
      };
      return { order, signature: await signOrder({ signer, order, domain }) };
    }),
  );
}

/** Runs `code` (TypeScript) with `ts-node --transpile-only` from the repository root; resolves with its stdout. */
function runTsNode(code: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [require.resolve("ts-node/dist/bin"), "--transpile-only", "-e", code],
      { cwd: ROOT, timeout: timeoutMs },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

describe("sigcheck: SignatureVerifierPool", function () {
  let orders: { order: Order; signature: Hex }[];

  before(async function () {
    await sdkReady();
    orders = await signedOrders(120);
  });

  for (const [threads, backend] of [
    [2, "native"],
    [1, "js"],
    [0, "native"],
  ] as const) {
    it(`${threads} thread(s), ${backend}: many parallel recovers, valid and not, each answered with its own signer`, async function () {
      const pool = await SignatureVerifierPool.create({ threads, backend, maxBatch: 32 });
      try {
        // Interleave valid orders with tampered ones (another order's signature, a changed field, a bad v).
        const requests = orders.map(({ order, signature }, i) => {
          if (i % 4 === 1) return { order, signature: orders[i - 1].signature };
          if (i % 4 === 2) return { order: { ...order, lots: order.lots + 1n }, signature };
          if (i % 4 === 3) return { order, signature: `${signature.slice(0, 130)}1d` as Hex };
          return { order, signature };
        });
        const expected = requests.map(({ order, signature }) => recoverOrderSignerNative(order, signature, domain));
        const answers = await Promise.all(
          requests.map(({ order, signature }) => pool.recover(order, signature, domain)),
        );
        expect(answers).to.deep.equal(expected);
        // The valid ones are their makers; the tampered ones are not.
        answers.forEach((answer, i) => {
          if (i % 4 === 0) expect(answer).to.equal(orders[i].order.maker);
          else expect(answer).to.not.equal(orders[i].order.maker);
        });
        expect(answers.filter((a) => a === undefined).length).to.equal(orders.length / 4); // the bad-v ones
      } finally {
        await pool.close();
      }
    });
  }

  it("survives garbage: answers undefined and goes on answering", async function () {
    const pool = await SignatureVerifierPool.create({ threads: 1 });
    try {
      const { order, signature } = orders[0];
      const garbage = await Promise.all([
        pool.recover(order, 42 as unknown as Hex, domain),
        pool.recover(null as unknown as Order, signature, domain),
        pool.recover({ ...order, maker: "0xnot-an-address" as Address }, signature, domain),
        pool.recover(order, `0x${"ff".repeat(65)}` as Hex, domain),
        pool.recover(order, `0x${"00".repeat(64)}1b` as Hex, domain),
        pool.recover(order, signature, domain),
      ]);
      expect(garbage).to.deep.equal([undefined, undefined, undefined, undefined, undefined, order.maker]);
      await pool
        .recover(order, signature, { chainId: "x" as unknown as number, verifyingContract: domain.verifyingContract })
        .then(
          () => expect.fail("a malformed domain must reject"),
          (error: Error) => expect(error.message).to.match(/chain id/i),
        );
      expect(await pool.recover(order, signature, domain)).to.equal(order.maker);
    } finally {
      await pool.close();
    }
  });

  it("close() rejects what is pending and every later request", async function () {
    const pool = await SignatureVerifierPool.create({ threads: 1, backend: "js" });
    const pending = orders.slice(0, 40).map(({ order, signature }) => pool.recover(order, signature, domain));
    const outcomes = Promise.allSettled(pending);
    await pool.close();
    const settled = await outcomes;
    expect(settled.some((s) => s.status === "rejected")).to.equal(true);
    for (const s of settled) if (s.status === "rejected") expect(String(s.reason)).to.match(/closed/);
    await pool.recover(orders[0].order, orders[0].signature, domain).then(
      () => expect.fail("recover after close must reject"),
      (error: Error) => expect(error.message).to.match(/closed/),
    );
  });

  it("rejects bad options with a clear message", async function () {
    await SignatureVerifierPool.create({ threads: -1 }).then(
      () => expect.fail("must reject"),
      (error: Error) => expect(error.message).to.match(/threads must be an integer/),
    );
    await SignatureVerifierPool.create({ threads: 1, backend: "wasm" as never }).then(
      () => expect.fail("must reject"),
      (error: Error) => expect(error.message).to.match(/unknown backend/),
    );
  });

  describe("under ts-node --transpile-only, in a child process", function () {
    this.timeout(120_000);
    const prelude = `
      const { privateKeyToAccount, generatePrivateKey } = require("viem/accounts");
      const { signOrder } = require("@crossbook/sdk");
      const { SignatureVerifierPool } = require("./keeper/src/sigcheck");
      const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
      const signer = privateKeyToAccount(generatePrivateKey());
      const order = { maker: signer.address, marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 1n, expiry: 4102444800n, nonce: 1n, priceTicks: 5n, lots: 1n };
    `;

    it("recovers, and the process exits after close()", async function () {
      const out = await runTsNode(
        `${prelude}
        (async () => {
          const pool = await SignatureVerifierPool.create({ threads: 2 });
          const signature = await signOrder({ signer, order, domain });
          const signer2 = await pool.recover(order, signature, domain);
          await pool.close();
          console.log(signer2 === signer.address ? "match" : "mismatch " + signer2);
        })();`,
        60_000,
      );
      expect(out.trim()).to.equal("match");
    });

    it("the process exits even without close() once the pool is idle", async function () {
      const out = await runTsNode(
        `${prelude}
        (async () => {
          const pool = await SignatureVerifierPool.create({ threads: 1, backend: "js" });
          const signature = await signOrder({ signer, order, domain });
          console.log((await pool.recover(order, signature, domain)) === signer.address ? "match" : "mismatch");
        })();`,
        60_000,
      );
      expect(out.trim()).to.equal("match");
    });
  });
});
