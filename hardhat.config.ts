import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";

// The one compiler and optimizer profile of this project. Hardhat cannot download solc on these
// machines, so the compiler comes from the pinned npm `solc` package (solc-js).
const SOLC_VERSION = "0.8.28";
const EVM_VERSION = "cancun"; // transient storage (EIP-1153); the Hardhat network runs the same fork
/** Whether this process is `hardhat node`. */
const RUNNING_NODE = process.argv.slice(2).includes("node");

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      evmVersion: EVM_VERSION,
      viaIR: true,
      optimizer: { enabled: true, runs: 4_294_967_295 },
    },
  },
  networks: {
    hardhat: {
      hardfork: EVM_VERSION,
      // `npx hardhat node` also mines a block every second, so that a quiet local chain keeps moving
      // (the keeper settles, confirms and reports ready per block). Tests keep automine only.
      ...(RUNNING_NODE ? { mining: { auto: true, interval: 1000 } } : {}),
    },
    // `npx hardhat node` (any port: CROSSBOOK_LOCALHOST_URL), and any other chain by RPC URL and key.
    localhost: { url: process.env.CROSSBOOK_LOCALHOST_URL ?? "http://127.0.0.1:8545" },
    custom: {
      url: process.env.CROSSBOOK_RPC_URL ?? "http://127.0.0.1:8545",
      accounts: process.env.CROSSBOOK_DEPLOYER_KEY ? [process.env.CROSSBOOK_DEPLOYER_KEY] : [],
    },
  },
  mocha: { timeout: 120_000 },
  gasReporter: { enabled: false },
};

export default config;
