/**
 * `npm run sdk:abi`: writes sdk/src/generated/exchangeAbi.ts — the Exchange ABI (and the ERC-20
 * errors a deposit can bubble up) as viem `as const` literals, read from the Hardhat artifacts. The
 * file is committed, so that the SDK works without artifacts; a test fails when it is out of date.
 *
 *   npx hardhat run scripts/generate-sdk-abi.ts   (hardhat run compiles the contracts first)
 */
import hre from "hardhat";
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import * as prettier from "prettier";
import { SDK_ABI_FILE, readSdkAbis, renderSdkAbiModule } from "./lib/sdk-abi";

async function main() {
  const source = renderSdkAbiModule(await readSdkAbis(hre.artifacts));
  const options = await prettier.resolveConfig(SDK_ABI_FILE);
  writeFileSync(SDK_ABI_FILE, await prettier.format(source, { ...options, filepath: SDK_ABI_FILE }));
  console.log(`wrote ${relative(process.cwd(), SDK_ABI_FILE)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
