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
      // TEMPORARY until sdk/ is the workspace package `@crossbook/sdk`: then delete this alias and the
      // `paths` entry of app/tsconfig.json, and the page resolves the package like any dapp.
      "@crossbook/sdk": fileURLToPath(new URL("../sdk/src/index.ts", import.meta.url)),
    },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { target: "es2022", emptyOutDir: true, reportCompressedSize: false },
  logLevel: "warn",
});
