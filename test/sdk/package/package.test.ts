/**
 * `@crossbook/sdk` as a dapp gets it, not as this repository's code sees it (through tsconfig
 * `paths` to sdk/src):
 *
 *   npm pack (prepack: tsup builds dist/) ─▶ tarball ─▶ npm ci --offline in a scratch project in the
 *   OS temp dir (./scratch.ts) ─▶ Node ESM, Node CommonJS, tsc under `bundler` and `node16`
 *   (ESM and CommonJS files), an esbuild browser bundle, the READMEs' snippets, bundle sizes.
 *
 * Also: the package's files are dist/ and nothing of src/, and its `exports` are the build's
 * entries and the repository's tsconfig `paths` (so no code here imports a path a dapp cannot).
 */
import { expect } from "chai";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { transformSync } from "esbuild";
import { BUNDLE_APPS, bundleSize, measureBundles } from "../../../scripts/lib/bundle-size";
import { markdownExamples } from "../examples";
import { ROOT, packAndInstall, run, type Scratch } from "./scratch";

const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** Uses every entry point; prints what it saw as JSON. The same code as ESM (`import`) and CommonJS (`require`). */
function consumer(load: string): string {
  return `${load}
const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" };
const account = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
const order = {
  maker: account.address, marketId: 1n, isBuy: false, flags: sdk.POST_ONLY, maxFeeBps: 5n,
  expiry: 4102444800n, nonce: 1n, priceTicks: 183450n, lots: sdk.parseLots({ amount: "0.25", market: { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n } }),
};
const atLoad = sdk.hashOrder({ order, domain });
sdk.sdkReady().then(async () => {
  const out = new Uint8Array(32);
  hashing.keccak256Into(new Uint8Array([1, 2, 3]), out, 0);
  const signature = await sdk.signOrder({ signer: account, order, domain });
  console.log(JSON.stringify({
    atLoad,
    digest: sdk.hashOrder({ order, domain }),
    expected: hashTypedData(sdk.orderTypedData({ order, domain })),
    webAssembly: hashing.usesWebAssembly(),
    keccak: Buffer.from(out).toString("hex"),
    viemKeccak: keccak256(new Uint8Array([1, 2, 3])).slice(2),
    verified: await verifyTypedData({ address: account.address, signature, ...sdk.orderTypedData({ order, domain }) }),
    states: wire.KEEPER_ORDER_STATES,
    error: new sdk.KeeperApiError("x", { code: "TOO_MANY_OPEN_ORDERS", status: 429 }) instanceof sdk.CrossbookError,
  }));
});
`;
}

const ESM = consumer(`import * as sdk from "@crossbook/sdk";
import * as hashing from "@crossbook/sdk/hashing";
import * as wire from "@crossbook/sdk/keeper-wire";
import { hashTypedData, keccak256, verifyTypedData } from "viem";
import { privateKeyToAccount } from "viem/accounts";`);

const CJS = consumer(`const sdk = require("@crossbook/sdk");
const hashing = require("@crossbook/sdk/hashing");
const wire = require("@crossbook/sdk/keeper-wire");
const { hashTypedData, keccak256, verifyTypedData } = require("viem");
const { privateKeyToAccount } = require("viem/accounts");`);

/** Type-level use of every entry: compiles only if the declarations are found and right. */
const TYPED = `import { hashOrder, type KeeperErrorCode, type Order, type KeeperFeedClock } from "@crossbook/sdk";
import { keccak256Into, writeHex } from "@crossbook/sdk/hashing";
import { KEEPER_ORDER_STATES, type KeeperTradeJson, type KeeperFeedMessageJson } from "@crossbook/sdk/keeper-wire";

const order: Order = {
  maker: "0xCB3504f6d0D7C9eC65a4F0548D6C3c521bF82C03", marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 1n,
  expiry: 1n, nonce: 1n, priceTicks: 1n, lots: 1n,
};
export const digest: \`0x\${string}\` = hashOrder({ order, domain: { chainId: 1, verifyingContract: order.maker } });
export const code: KeeperErrorCode = "TOO_MANY_OPEN_ORDERS";
// @ts-expect-error not a keeper code
export const wrong: KeeperErrorCode = "NO_SUCH_CODE";
export const state: (typeof KEEPER_ORDER_STATES)[number] = "partially-filled";
export const lots: KeeperTradeJson["lots"] = "25";
export const message: KeeperFeedMessageJson = { type: "challenge", challenge: "0x00" };
export const ok: boolean = writeHex(new Uint8Array(1), 0, "0x01", 1);
keccak256Into(new Uint8Array(0), new Uint8Array(32), 0);
export type Clock = KeeperFeedClock;
`;

/** The sdk/README.md snippets that run as they are (no chain, keeper or wallet); the others are type-checked. */
const RUNNABLE = ["sdk/README.md block 1", "sdk/README.md block 2"];

describe("sdk: the package, packed and installed", function () {
  this.timeout(600_000);
  let scratch: Scratch;

  before(function () {
    scratch = packAndInstall(["viem", "ws", "@types/ws", "@types/node"]);
  });

  after(function () {
    if (scratch !== undefined) rmSync(scratch.dir, { recursive: true, force: true });
  });

  it("ships dist/ and its README, no source, and exports what the build builds and the repository imports", function () {
    expect(scratch.packedFiles.filter((f) => !f.startsWith("dist/"))).to.deep.equal(["README.md", "package.json"]);
    expect(scratch.packedFiles.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).to.deep.equal([]);
    const manifest = JSON.parse(readFileSync(join(ROOT, "sdk", "package.json"), "utf8"));
    expect(manifest.sideEffects).to.equal(false);
    expect(manifest.peerDependencies).to.have.keys("viem", "ethers");
    expect(manifest.peerDependenciesMeta.ethers.optional).to.equal(true);
    const subpaths = Object.keys(manifest.exports).filter((k) => k !== "./package.json");
    const tsup = readFileSync(join(ROOT, "sdk", "tsup.config.ts"), "utf8");
    const entries = [...tsup.matchAll(/^\s+"?([\w-]+)"?: "src\/[\w/]+\.ts",$/gm)].map((m) => m[1]);
    expect(subpaths).to.deep.equal(entries.map((e) => (e === "index" ? "." : `./${e}`)));
    const paths = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8")).compilerOptions.paths;
    expect(Object.keys(paths)).to.deep.equal(subpaths.map((s) => `@crossbook/sdk${s.slice(1)}`));
    for (const subpath of subpaths) {
      const entry = entries[subpaths.indexOf(subpath)];
      for (const file of [`${entry}.mjs`, `${entry}.js`, `${entry}.d.mts`, `${entry}.d.ts`]) {
        expect(scratch.packedFiles, subpath).to.include(`dist/${file}`);
      }
    }
  });

  for (const [kind, file, code] of [
    ["ESM", "consumer.mjs", ESM],
    ["CommonJS", "consumer.cjs", CJS],
  ] as const) {
    it(`works from Node ${kind}: every entry point, hashing on WebAssembly, signatures that verify`, function () {
      writeFileSync(join(scratch.dir, file), code);
      const report = JSON.parse(run(process.execPath, [file], scratch.dir).trim());
      expect(report.digest).to.equal(report.expected);
      expect(report.atLoad).to.equal(report.expected);
      expect(report.webAssembly).to.equal(true);
      expect(report.keccak).to.equal(report.viemKeccak);
      expect(report.verified).to.equal(true);
      expect(report.states).to.deep.equal(["open", "partially-filled", "filled", "cancelled", "rejected"]);
      expect(report.error).to.equal(true);
    });
  }

  // viem's declarations are ECMAScript modules only (its _types/package.json says "module"), so in a
  // CommonJS file under node16 any import of viem — the SDK's declarations' and the app's own —
  // reports TS1479; such a project needs skipLibCheck, and with it the SDK's types are all there.
  for (const [resolution, file, skipLibCheck] of [
    ["bundler", "typed.ts", true], // the same .d.mts files as node16's ESM, checked there
    ["node16", "typed.mts", false],
    ["node16", "typed.cts", true],
  ] as const) {
    it(`type-checks under moduleResolution ${resolution} (${file}${skipLibCheck ? "" : ", every declaration checked"})`, function () {
      writeFileSync(join(scratch.dir, file), TYPED);
      const config = {
        compilerOptions: {
          target: "es2022",
          module: resolution === "bundler" ? "esnext" : "node16",
          moduleResolution: resolution,
          lib: ["es2022", "dom"],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck,
        },
        files: [file],
      };
      writeFileSync(join(scratch.dir, `tsconfig.${file}.json`), JSON.stringify(config));
      run(process.execPath, [TSC, "-p", `tsconfig.${file}.json`], scratch.dir);
    });
  }

  it("bundles for the browser, viem included, with no Node built-in", async function () {
    const app = `import { hashOrder, signOrder, createKeeperClient, createKeeperFeed } from "@crossbook/sdk";
import { keccak256Into } from "@crossbook/sdk/hashing";
globalThis.app = [hashOrder, signOrder, createKeeperClient, createKeeperFeed, keccak256Into];`;
    const { build } = await import("esbuild");
    const result = await build({
      stdin: { contents: app, resolveDir: scratch.dir, loader: "js" },
      bundle: true,
      format: "esm",
      platform: "browser",
      write: false,
      logLevel: "silent",
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes("node_modules/viem/"))).to.equal(true);
    expect(inputs.filter((i) => i.includes("@crossbook/sdk/")).every((i) => i.includes("/dist/"))).to.equal(true);
  });

  it("tree-shakes: an app of hashOrder and signOrder ships a small part of the whole SDK (viem excluded)", async function () {
    const sizes = await measureBundles(scratch.dir);
    const whole = sizes["the whole SDK"];
    const small = sizes["hashOrder + signOrder"];
    // Figures in sdk/README.md ("Bundle size"): 83 KB / 23 KB gzip against 19 KB / 8 KB gzip,
    // of which hash-wasm's keccak (WebAssembly in base64, little to gzip) is 11 KB.
    expect(small.minified, "minified").to.be.below(whole.minified * 0.3);
    expect(small.gzip, "gzip").to.be.below(whole.gzip * 0.4);
    expect(small.code).not.to.include("FillSkipped"); // the Exchange ABI stays out
    expect(small.code).not.to.include("WebSocket"); // so does the keeper feed
    // and one import more brings in just what it needs
    const withUnits = await bundleSize(
      `${BUNDLE_APPS["hashOrder + signOrder"]}\nimport { parseLots } from "@crossbook/sdk"; globalThis.p = parseLots;`,
      scratch.dir,
    );
    expect(withUnits.minified).to.be.below(whole.minified * 0.4);
  });

  it("runs the READMEs' snippets from the install: every one type-checks, the self-contained ones run", function () {
    const snippets = [
      ...markdownExamples(join(ROOT, "sdk", "README.md")),
      ...markdownExamples(join(ROOT, "README.md")),
    ];
    expect(snippets.length).to.be.greaterThan(6);
    mkdirSync(join(scratch.dir, "readme"), { recursive: true });
    const files = snippets.map(({ name, code }) => {
      const file = `readme/${name.replace(/[^\w]+/g, "-")}.ts`;
      writeFileSync(join(scratch.dir, file), code);
      return file;
    });
    const config = {
      compilerOptions: {
        target: "es2022",
        module: "esnext",
        moduleResolution: "bundler",
        lib: ["es2022", "dom"],
        types: ["node"],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        isolatedModules: true,
      },
      files,
    };
    writeFileSync(join(scratch.dir, "tsconfig.readme.json"), JSON.stringify(config));
    run(process.execPath, [TSC, "-p", "tsconfig.readme.json"], scratch.dir);

    for (const name of RUNNABLE) {
      const snippet = snippets.find((s) => s.name === name);
      expect(snippet, name).not.to.equal(undefined);
      const js = transformSync(snippet!.code, { loader: "ts", format: "esm", target: "es2022" }).code;
      const file = `readme/${name.replace(/[^\w]+/g, "-")}.mjs`;
      writeFileSync(join(scratch.dir, file), js);
      run(process.execPath, [file], scratch.dir); // throws, with the output, if the snippet throws
    }
  });
});
