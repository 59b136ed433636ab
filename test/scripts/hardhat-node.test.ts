/**
 * The benchmarks' Hardhat node (scripts/lib/processes.ts, `startHardhatNode`): `quiet` turns off
 * its log of each JSON-RPC call. Read from the node's own output: a call made while quiet leaves
 * no line, and once logging is turned back on, a later call does (the output is one stream, in
 * order, so the later line proves that everything before it was read).
 */
import { expect } from "chai";
import { rpc } from "../../scripts/lib/bench";
import { startHardhatNode, type LocalNode } from "../../scripts/lib/processes";

describe("the benchmarks' Hardhat node (scripts/lib/processes.ts)", function () {
  let node: LocalNode | undefined;

  afterEach(async () => {
    await node?.process.stop(5_000);
    node = undefined;
  });

  it("logs no call when quiet", async () => {
    node = await startHardhatNode({ quiet: true });
    await rpc(node.url, "eth_blockNumber");
    await rpc(node.url, "hardhat_setLoggingEnabled", [true]);
    const logged = node.process.waitFor(/eth_chainId/, 30_000);
    await rpc(node.url, "eth_chainId");
    await logged;
    expect(node.process.output()).not.to.match(/eth_blockNumber/);
  });

  it("logs each call by default, as `npx hardhat node` does", async () => {
    node = await startHardhatNode();
    const logged = node.process.waitFor(/eth_blockNumber/, 30_000);
    await rpc(node.url, "eth_blockNumber");
    await logged;
  });
});
