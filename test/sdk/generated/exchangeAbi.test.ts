import { expect } from "chai";
import hre from "hardhat";
import * as generated from "../../../sdk/src/generated/exchangeAbi";
import { SDK_ABI_SOURCES, readSdkAbis } from "../../../scripts/lib/sdk-abi";

describe("sdk/generated/exchangeAbi", function () {
  it("is up to date with the compiled contracts", async function () {
    const compiled = await readSdkAbis(hre.artifacts);
    for (const { exportName, artifact } of SDK_ABI_SOURCES) {
      expect(
        generated[exportName],
        `sdk/src/generated/exchangeAbi.ts: ${exportName} differs from the ABI of ${artifact}; run \`npm run sdk:abi\``,
      ).to.deep.equal(compiled[exportName]);
    }
  });
});
