/**
 * Order-signature recovery for the keeper's order entry: `recoverOrderSigner` (native libsecp256k1,
 * pure-JS fallback) and `SignatureVerifierPool` (the same, on worker threads, in batches).
 * Both follow the SDK's and the Exchange's rule exactly; see recover.ts.
 */
export {
  defaultBackend,
  nativeAvailable,
  nativeLoadError,
  recoverOrderSigner,
  recoverOrderSignerJs,
  recoverOrderSignerNative,
  sigcheckReady,
  type SigcheckBackend,
} from "./recover";
export { SignatureVerifierPool, type SignatureVerifierPoolOptions } from "./pool";
