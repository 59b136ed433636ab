/**
 * Checks the keeper's own signed messages (soft cancels, logins; `sdk/src/keeperMessages.ts`). An
 * EOA's signature is recovered locally (native libsecp256k1, no RPC); when it does not recover to
 * the signer and the signer has code, the wallet's ERC-1271 `isValidSignature` is asked through
 * `eth_call` with the Exchange's 100,000 gas and no more (the SDK's `walletApproves`).
 */
import { isAddressEqual, keccak256, toBytes, type Address, type Hex } from "viem";
import { bytesToHexFast, keccak256Into, writeHex, writeUint256 } from "@crossbook/sdk/hashing";
import {
  domainSeparator,
  KEEPER_MESSAGE_MAX_SKEW_MS,
  keeperMessageTypes,
  walletApproves,
  type CancelAllMessage,
  type CancelOrdersMessage,
  type ExchangeDomainParameters,
  type FeedLoginMessage,
  type ReadClient,
  type ScheduleCancelMessage,
} from "@crossbook/sdk";
import { recoverDigestSigner } from "../sigcheck";

export type KeeperMessage =
  | { primaryType: "CancelOrders"; message: CancelOrdersMessage }
  | { primaryType: "CancelAll"; message: CancelAllMessage }
  | { primaryType: "ScheduleCancel"; message: ScheduleCancelMessage }
  | { primaryType: "FeedLogin"; message: FeedLoginMessage };

type PrimaryType = keyof typeof keeperMessageTypes;

/** Each message type's EIP-712 type hash (no message type refers to another: `encodeType` is its own line). */
const TYPE_HASHES = new Map<PrimaryType, Uint8Array>(
  (Object.keys(keeperMessageTypes) as PrimaryType[]).map((p) => [
    p,
    keccak256(toBytes(`${p}(${keeperMessageTypes[p].map((f) => `${f.type} ${f.name}`).join(",")})`), "bytes"),
  ]),
);

/** Domain separators by `chainId:verifyingContract` (a keeper has one domain; bounded all the same). */
const separators = new Map<string, Uint8Array>();

function separatorOf(domain: ExchangeDomainParameters): Uint8Array {
  const key = `${domain.chainId}:${domain.verifyingContract}`;
  let separator = separators.get(key);
  if (separator === undefined) {
    separator = toBytes(domainSeparator(domain));
    if (separators.size >= 16) separators.clear();
    separators.set(key, separator);
  }
  return separator;
}

const badField = (p: string, name: string, value: unknown) =>
  new TypeError(`${p}.${name}: ${String(value)} does not fit its EIP-712 type`);

/** `hashStruct` of a keeper message, written into `out` at `offset`: each field one ABI word, in place. */
function structHashInto(p: PrimaryType, message: Record<string, unknown>, out: Uint8Array, offset: number): void {
  const fields = keeperMessageTypes[p];
  const words = new Uint8Array(32 * (fields.length + 1));
  const view = new DataView(words.buffer);
  words.set(TYPE_HASHES.get(p) as Uint8Array, 0);
  fields.forEach((f, i) => {
    const at = 32 * (i + 1);
    const value = message[f.name];
    if (f.type === "address" || f.type === "bytes32") {
      if (!writeHex(words, f.type === "address" ? at + 12 : at, value, f.type === "address" ? 20 : 32)) {
        throw badField(p, f.name, value);
      }
    } else if (f.type === "bytes32[]") {
      const items = value as readonly unknown[];
      const packed = new Uint8Array(32 * items.length);
      items.forEach((item, j) => {
        if (!writeHex(packed, 32 * j, item, 32)) throw badField(p, f.name, item);
      });
      keccak256Into(packed, words, at);
    } else {
      const n = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
      if (typeof n !== "bigint" || n < 0n || n >= 1n << BigInt(f.type.slice(4))) throw badField(p, f.name, value);
      writeUint256(view, at, n);
    }
  });
  keccak256Into(words, out, offset);
}

/**
 * The EIP-712 digest of a keeper message: what its signature signs, and what identifies it once used.
 * viem's `hashTypedData` gives the same digest (test/keeper/api/signatures.test.ts) at some 20
 * times the cost — it parses the types and hashes the domain on every call, and every cancel an
 * attacker sends (replayed or badly signed) is hashed before it is refused.
 */
export function keeperMessageDigest(domain: ExchangeDomainParameters, m: KeeperMessage): Hex {
  const input = new Uint8Array(2 + 32 + 32);
  input[0] = 0x19;
  input[1] = 0x01;
  input.set(separatorOf(domain), 2);
  structHashInto(m.primaryType, m.message as unknown as Record<string, unknown>, input, 34);
  const out = new Uint8Array(32);
  keccak256Into(input, out, 0);
  return bytesToHexFast(out);
}

/** Whether `signature` over `digest` is `signer`'s ECDSA signature: in memory, no chain read. */
export async function signedBy(signer: Address, digest: Hex, signature: Hex): Promise<boolean> {
  const recovered = await recoverDigestSigner(digest, signature);
  return recovered !== undefined && isAddressEqual(recovered, signer);
}

/**
 * Whether `signature` over the message's digest is `signer`'s: ECDSA recovery, else ERC-1271 for a
 * contract (gas-capped). Throws only when the chain cannot be read for a contract signer.
 * `hasCode` (the keeper's cached code reads) answers whether the signer is a contract without a
 * node call when it can: a bad signature naming an EOA then costs the node nothing.
 */
export async function verifyKeeperMessage(
  client: ReadClient,
  domain: ExchangeDomainParameters,
  signer: Address,
  m: KeeperMessage,
  signature: Hex,
  hasCode?: (account: Address) => Promise<boolean>,
): Promise<boolean> {
  const digest = keeperMessageDigest(domain, m);
  if (await signedBy(signer, digest, signature)) return true;
  if (hasCode !== undefined && !(await hasCode(signer))) return false;
  return walletApproves(client, { wallet: signer, digest, signature });
}

/** Whether `issuedAt` (unix ms) is within ±5 minutes of `now`. */
export function issuedAtFresh(issuedAt: bigint, now: number): boolean {
  const skew = issuedAt - BigInt(Math.floor(now));
  return skew <= BigInt(KEEPER_MESSAGE_MAX_SKEW_MS) && skew >= -BigInt(KEEPER_MESSAGE_MAX_SKEW_MS);
}
