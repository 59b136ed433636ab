/**
 * What the SDK costs a browser app: esbuild bundles, minifies and gzips small apps that import the
 * installed `@crossbook/sdk` (resolved from `resolveDir` as any bundler resolves it: the `import`
 * entry of its `exports`, the built dist/), with viem left out (an app has it anyway, and it is a
 * peer dependency). `npm run bench:bundle` prints the figures; test/sdk/package/package.test.ts
 * checks that importing only `hashOrder` and `signOrder` stays a small fraction of the whole.
 */
import { build } from "esbuild";
import { gzipSync } from "node:zlib";

/** The apps measured: the whole SDK, and an app that only hashes and signs orders. */
export const BUNDLE_APPS = {
  "the whole SDK": 'import * as sdk from "@crossbook/sdk";\nglobalThis.sdk = sdk;',
  "hashOrder + signOrder":
    'import { hashOrder, signOrder } from "@crossbook/sdk";\nglobalThis.use = [hashOrder, signOrder];',
} as const;

export type BundleApp = keyof typeof BUNDLE_APPS;

export interface BundleSize {
  /** Minified bytes. */
  minified: number;
  /** Those, gzipped (level 9). */
  gzip: number;
  /** Minified bytes by input (the SDK's files, hash-wasm, …), largest first. */
  inputs: [string, number][];
  /** The minified bundle itself. */
  code: string;
}

/** Bundles one app's code for the browser, viem external, minified. */
export async function bundleSize(contents: string, resolveDir: string): Promise<BundleSize> {
  const result = await build({
    stdin: { contents, resolveDir, loader: "js", sourcefile: "app.js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    external: ["viem", "viem/*"],
    write: false,
    metafile: true,
    logLevel: "silent",
    tsconfigRaw: "{}", // resolve the package as installed, never through a tsconfig's `paths`
  });
  const bytes = result.outputFiles[0].contents;
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(output.inputs)
    .map(([file, { bytesInOutput }]): [string, number] => [file.replace(/^.*node_modules\//, ""), bytesInOutput])
    .sort((a, b) => b[1] - a[1]);
  return {
    minified: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    inputs,
    code: result.outputFiles[0].text,
  };
}

/** Every app of `BUNDLE_APPS`, measured against the package installed where `resolveDir` finds it. */
export async function measureBundles(resolveDir: string): Promise<Record<BundleApp, BundleSize>> {
  const sizes = {} as Record<BundleApp, BundleSize>;
  for (const [app, contents] of Object.entries(BUNDLE_APPS))
    sizes[app as BundleApp] = await bundleSize(contents, resolveDir);
  return sizes;
}
