import { defineConfig } from "tsup";

/**
 * The package's build (`npm run build -w @crossbook/sdk`, run by `npm pack`): one ESM (`.mjs`) and
 * one CommonJS (`.js`) file per entry point, code shared between entries in chunks so that the
 * WebAssembly hasher and its state exist once, and declarations bundled per entry and format
 * (`.d.mts`, `.d.ts`) so that `moduleResolution` `node16`, `nodenext` and `bundler` all find them.
 * viem and hash-wasm stay imports (a dependency and a peer dependency). The entries are the
 * `exports` of package.json; test/sdk/package.test.ts checks that the two lists agree.
 */
export default defineConfig({
  entry: {
    index: "src/index.ts",
    hashing: "src/hashing.ts",
    "keeper-wire": "src/keeperWire.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  platform: "neutral",
  tsconfig: "tsconfig.build.json",
});
