/**
 * `sdkReady` in this process (WebAssembly available), and in fresh Node processes where hash-wasm
 * cannot create its hasher: one without WebAssembly at all (`--no-expose-wasm`), one whose
 * `WebAssembly.compile` refuses, as a browser does under a Content-Security-Policy without
 * 'wasm-unsafe-eval'. There `sdkReady` must still resolve, silently, and `hashOrder` keep giving
 * the right digests on viem's keccak256.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { hashTypedData } from "viem";
import { hashOrder, orderTypedData, sdkReady } from "@crossbook/sdk";
import { usesWebAssembly } from "@crossbook/sdk/hashing";
import { VECTORS } from "./support";

const ROOT = join(__dirname, "..", "..");

/** Loads the SDK in a new Node process (after `prelude`), awaits sdkReady, and reports what it saw. */
function inFreshProcess(nodeFlags: string[], prelude: string) {
  const script = `
    ${prelude}
    const sdk = require("@crossbook/sdk");
    const keccak = require("@crossbook/sdk/hashing");
    const { hashTypedData } = require("viem");
    const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" };
    const order = {
      maker: "0xCB3504f6d0D7C9eC65a4F0548D6C3c521bF82C03", marketId: 1n, isBuy: true, flags: 0n,
      maxFeeBps: 100n, expiry: 4102444800n, nonce: 0n, priceTicks: 2000n, lots: 5n,
    };
    const atLoad = { usesWebAssembly: keccak.usesWebAssembly(), digest: sdk.hashOrder({ order, domain }) };
    sdk.sdkReady().then((value) => {
      console.log(JSON.stringify({
        atLoad,
        resolvedWith: value === undefined ? "undefined" : String(value),
        usesWebAssembly: keccak.usesWebAssembly(),
        digest: sdk.hashOrder({ order, domain }),
        expected: hashTypedData(sdk.orderTypedData({ order, domain })),
      }));
    });
  `;
  const run = spawnSync(process.execPath, [...nodeFlags, "-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(run.status, run.stderr).to.equal(0);
  return { report: JSON.parse(run.stdout.trim().split("\n").pop()!), stderr: run.stderr };
}

describe("sdk/sdkReady", function () {
  this.timeout(120_000);

  it("resolves, and hashOrder then runs on WebAssembly, with the same digests as viem", async function () {
    expect(await sdkReady()).to.equal(undefined);
    expect(usesWebAssembly()).to.equal(true);
    for (const v of VECTORS) {
      expect(hashOrder(v), v.name).to.equal(hashTypedData(orderTypedData(v)));
    }
  });

  it("hashes on viem's keccak256 from the moment the SDK loads, then switches to WebAssembly", function () {
    const { report, stderr } = inFreshProcess([], "");
    expect(report.atLoad).to.deep.equal({ usesWebAssembly: false, digest: report.expected });
    expect(report.resolvedWith).to.equal("undefined");
    expect(report.usesWebAssembly).to.equal(true);
    expect(report.digest).to.equal(report.expected);
    expect(stderr).to.equal("");
  });

  it("resolves silently where there is no WebAssembly, and hashOrder falls back to viem's keccak256", function () {
    const { report, stderr } = inFreshProcess(
      ["--no-expose-wasm"],
      `
      if (typeof WebAssembly !== "undefined") throw new Error("expected no WebAssembly under --no-expose-wasm");
    `,
    );
    expect(report.resolvedWith).to.equal("undefined");
    expect(report.usesWebAssembly).to.equal(false);
    expect(report.atLoad.digest).to.equal(report.expected);
    expect(report.digest).to.equal(report.expected);
    expect(stderr).to.equal("");
  });

  it("resolves silently where compiling WebAssembly is refused (a strict CSP), and hashOrder falls back", function () {
    const { report, stderr } = inFreshProcess(
      [],
      `
      WebAssembly.compile = () => Promise.reject(new WebAssembly.CompileError("refused by Content-Security-Policy"));
      WebAssembly.instantiate = WebAssembly.compile;
    `,
    );
    expect(report.resolvedWith).to.equal("undefined");
    expect(report.usesWebAssembly).to.equal(false);
    expect(report.atLoad.digest).to.equal(report.expected);
    expect(report.digest).to.equal(report.expected);
    expect(stderr).to.equal("");
  });
});
