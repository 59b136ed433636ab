/**
 * The benchmarks' Hardhat node (scripts/lib/processes.ts, `startHardhatNode`): `quiet` turns off
 * its log of each JSON-RPC call. Read from the node's own output: a call made while quiet leaves
 * no line, and once logging is turned back on, a later call does (the output is one stream, in
 * order, so the later line proves that everything before it was read).
 */
import { expect } from "chai";
import { startHardhatNode, type LocalNode } from "../../scripts/lib/processes";

async function call(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const answer = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await answer.json()) as { result: unknown }).result;
}

describe("the benchmarks' Hardhat node (scripts/lib/processes.ts)", function () {
  let node: LocalNode | undefined;

  afterEach(async () => {
    await node?.process.stop(5_000);
    node = undefined;
  });

  it("logs no call when quiet", async () => {
    node = await startHardhatNode({ quiet: true });
    await call(node.url, "eth_blockNumber");
    await call(node.url, "hardhat_setLoggingEnabled", [true]);
    const logged = node.process.waitFor(/eth_chainId/, 30_000);
    await call(node.url, "eth_chainId");
    await logged;
    expect(node.process.output()).not.to.match(/eth_blockNumber/);
  });

  it("logs each call by default, as `npx hardhat node` does", async () => {
    node = await startHardhatNode();
    const logged = node.process.waitFor(/eth_blockNumber/, 30_000);
    await call(node.url, "eth_blockNumber");
    await logged;
  });
});
