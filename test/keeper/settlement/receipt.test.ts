/**
 * `receiptOutcomes` (keeper/src/settlement/receipt.ts) is pure: a receipt's logs in, one outcome per
 * fill of the batch out — tested here without a chain, from logs encoded as the Exchange emits them.
 */
import { expect } from "chai";
import { encodeAbiParameters, encodeEventTopics, type Address, type Log } from "viem";
import { exchangeAbi, SkipReason } from "@crossbook/sdk";
import { receiptOutcomes } from "../../../keeper/src/settlement";

const EXCHANGE = "0x00000000000000000000000000000000000c0ffe" as Address;
const OTHER = "0x00000000000000000000000000000000000beef0" as Address;

function log(address: Address, topics: readonly unknown[], data: `0x${string}`): Log {
  return {
    address,
    topics: topics as [`0x${string}`, ...`0x${string}`[]],
    data,
    blockHash: `0x${"11".repeat(32)}`,
    blockNumber: 7n,
    logIndex: 0,
    transactionHash: `0x${"22".repeat(32)}`,
    transactionIndex: 0,
    removed: false,
  };
}

const traded = (address = EXCHANGE) =>
  log(
    address,
    encodeEventTopics({ abi: exchangeAbi, eventName: "Traded", args: { marketId: 1 } }),
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "bool" }, { type: "uint64" }, { type: "uint64" }],
      // Order keys: the account in bytes 0–19, the nonce in 20–27, then zeros.
      [`0x${"aa".repeat(28)}00000000`, `0x${"bb".repeat(28)}00000000`, false, 200_000n, 4n],
    ),
  );

const skipped = (fillIndex: bigint, reason: number) =>
  log(
    EXCHANGE,
    encodeEventTopics({ abi: exchangeAbi, eventName: "FillSkipped" }),
    encodeAbiParameters([{ type: "uint256" }, { type: "uint8" }], [fillIndex, reason]),
  );

describe("keeper/settlement: receiptOutcomes", () => {
  it("settles every fill without a FillSkipped, and skips the others with the chain's reason", () => {
    const out = receiptOutcomes(
      { logs: [traded(), skipped(1n, SkipReason.MakerCancelled), traded(), traded(OTHER)] },
      { fillIds: [10, 11, 12], exchange: EXCHANGE },
    );
    expect(out.fills).to.deep.equal([
      { id: 10, settled: true },
      { id: 11, settled: false, reason: "MakerCancelled" },
      { id: 12, settled: true },
    ]);
    expect(out.settled).to.equal(2);
    expect(out.skipReasons).to.deep.equal({ MakerCancelled: 1 });
    expect(out.problems).to.deep.equal([]);
  });

  it("names what does not add up: a skip beyond the batch, an unknown reason, Traded events that do not match", () => {
    const out = receiptOutcomes(
      { logs: [skipped(5n, SkipReason.MakerExpired), skipped(0n, 99)] },
      { fillIds: [10, 11], exchange: EXCHANGE },
    );
    expect(out.fills).to.deep.equal([
      { id: 10, settled: false, reason: "SkipReason99" },
      { id: 11, settled: true },
    ]);
    expect(out.problems).to.have.length(2);
    expect(out.problems[0]).to.match(/fill index 5, beyond the batch's 2 fills/);
    expect(out.problems[1]).to.match(/0 Traded events for 1 fills/);
  });
});
