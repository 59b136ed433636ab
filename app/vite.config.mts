/**
 * Vite configuration of the trading page. `npm run app` and `npm run demo` build and serve it through
 * scripts/lib/appServer.ts, which chooses the output directory and proxies the keeper.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Relative asset URLs: the page works under any path it is served from.
  base: "./",
  resolve: {
    alias: {
      // Inside this repository the page builds from the SDK's sources, as the keeper and the scripts do
      // through the root tsconfig's `paths` (no build step, no stale sdk/dist). A dapp outside it
      // resolves the published package's exports; the SDK's pack-and-install test bundles those.
      "@crossbook/sdk": fileURLToPath(new URL("../sdk/src/index.ts", import.meta.url)),
    },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { target: "es2022", emptyOutDir: true, reportCompressedSize: false },
  logLevel: "warn",
});
