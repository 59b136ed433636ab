/**
 * Order-signature recovery for the keeper's order entry: `recoverOrderSigner` (native libsecp256k1,
 * pure-JS fallback), by exactly the SDK's and the Exchange's rule; see recover.ts.
 */
export {
  defaultBackend,
  nativeAvailable,
  nativeLoadError,
  recoverDigestSigner,
  recoverOrderSigner,
  recoverOrderSignerJs,
  recoverOrderSignerNative,
  sigcheckReady,
  type SigcheckBackend,
} from "./recover";
