/**
 * The complete example of sdk/README.md (scripts/sdk-example.ts, shown there whole) runs: deposit,
 * sign, settle by a keeper stand-in, fill state, balances, a withdrawal request and the withdrawal.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runExample } from "../../scripts/sdk-example";

describe("sdk: the README's complete example", function () {
  it("runs from deposit to a filled order and a withdrawal", async function () {
    const lines: string[] = [];
    const result = await runExample((...parts) => lines.push(parts.join(" ")));
    expect(result.skippedFills).to.deep.equal([]);
    expect(result.trades).to.have.lengthOf(1);
    expect(result.trades[0]).to.deep.include({ lots: 25n, priceTicks: 183_450n, makerIsBuy: false });
    expect(result.askState).to.deep.equal({
      filled: 25n,
      remaining: 0n,
      cancelled: false,
      belowNonceFloor: false,
      endsAt: 0n,
    });
    expect(result.bidState.remaining).to.equal(0n);
    // 0.25 WETH at 1834.5 USDC is 458.625 USDC, less alice's 5 bps maker fee (rounded down)
    expect(result.aliceUsdc).to.equal(458_625_000n - 229_312n);
    expect(result.bobWeth).to.equal(25n * 10n ** 16n);
    expect(lines).to.include(
      "traded 0.25 WETH at 1834.5 USDC (maker 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC nonce 1)",
    );
  });

  it("is shown whole in sdk/README.md", function () {
    const readme = readFileSync(join(__dirname, "..", "..", "sdk", "README.md"), "utf8");
    const script = readFileSync(join(__dirname, "..", "..", "scripts", "sdk-example.ts"), "utf8");
    expect(
      readme.includes("```typescript\n" + script + "```"),
      "sdk/README.md shows scripts/sdk-example.ts as it is",
    ).to.equal(true);
  });
});
