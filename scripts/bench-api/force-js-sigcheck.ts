/**
 * Preloaded (`node -r`) into the keeper process by `npm run bench:api` for its pure-JS run: makes
 * `require("secp256k1/bindings")` fail, so that keeper/src/sigcheck finds no native binding and
 * recovers signatures in pure JS (@noble/curves), exactly as on a machine where the prebuilt
 * binding cannot load. The keeper's own code is unchanged; it logs that it fell back.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require("node:module") as { _load: (request: string, ...rest: unknown[]) => unknown };

const load = Module._load;
Module._load = function (request: string, ...rest: unknown[]) {
  if (request === "secp256k1/bindings") throw new Error("bench:api: native secp256k1 disabled for the pure-JS run");
  return load.call(this, request, ...rest);
};
