/**
 * Writes test/vectors/orders.json: EIP-712 test vectors of Crossbook orders (order → struct hash →
 * digest → signature), computed with ethers alone — never with the contract — so that the
 * Solidity tests (test/exchange/vectors.test.ts) and the SDK can both check themselves against it.
 *
 *   npx ts-node scripts/make-test-vectors.ts          # writes the file
 *   npx ts-node scripts/make-test-vectors.ts --check  # exits 1 if the file differs from what it would write
 *
 * Everything is deterministic: fixed throwaway keys (keccak256 of a phrase, never to hold funds), a
 * fixed chain id and verifying contract, and RFC 6979 signatures.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  SigningKey,
  TypedDataEncoder,
  computeAddress,
  getAddress,
  id,
  keccak256,
  recoverAddress,
  toUtf8Bytes,
} from "ethers";
import { ORDER_TYPES } from "../test/helpers/orders";

const OUTPUT = join(__dirname, "..", "test", "vectors", "orders.json");

const CHAIN_ID = 31337n;
const VERIFYING_CONTRACT = getAddress("0x00000000000000000000000000000000000c0ffe");
const DOMAIN = { name: "Crossbook", version: "1", chainId: CHAIN_ID, verifyingContract: VERIFYING_CONTRACT };

const TYPES = ORDER_TYPES;

/** The throwaway keys: keccak256("crossbook test key <n>"). */
const KEY_PHRASES = ["crossbook test key 1", "crossbook test key 2", "crossbook test key 3"];
const keyOf = (phrase: string) => keccak256(toUtf8Bytes(phrase));

const U32_MAX = (1n << 32n) - 1n;
const U40_MAX = (1n << 40n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
/** 2100-01-01T00:00:00Z: far enough that a test chain never reaches it. */
const FAR_EXPIRY = 4_102_444_800n;

interface OrderFields {
  marketId: bigint;
  isBuy: boolean;
  flags: bigint;
  maxFeeBps: bigint;
  expiry: bigint;
  nonce: bigint;
  priceTicks: bigint;
  lots: bigint;
}

/** The vectors: a name, the key (by phrase), and the order's fields but the maker. */
const CASES: { name: string; key: number; order: OrderFields }[] = [
  {
    name: "buy, no flags, nonce zero (crosses the next vector)",
    key: 0,
    order: {
      marketId: 1n,
      isBuy: true,
      flags: 0n,
      maxFeeBps: 100n,
      expiry: FAR_EXPIRY,
      nonce: 0n,
      priceTicks: 2000n,
      lots: 5n,
    },
  },
  {
    name: "sell, POST_ONLY",
    key: 1,
    order: {
      marketId: 1n,
      isBuy: false,
      flags: 1n,
      maxFeeBps: 50n,
      expiry: FAR_EXPIRY,
      nonce: 1n,
      priceTicks: 1990n,
      lots: 3n,
    },
  },
  {
    name: "buy, IMMEDIATE_OR_CANCEL, already expired on any live chain",
    key: 2,
    order: {
      marketId: 1n,
      isBuy: true,
      flags: 2n,
      maxFeeBps: 10n,
      expiry: 1_700_000_000n,
      nonce: 42n,
      priceTicks: 123_456_789n,
      lots: 1000n,
    },
  },
  {
    name: "sell, FILL_OR_KILL, market 2",
    key: 0,
    order: {
      marketId: 2n,
      isBuy: false,
      flags: 4n,
      maxFeeBps: 30n,
      expiry: FAR_EXPIRY,
      nonce: 7n,
      priceTicks: 1n,
      lots: 1n,
    },
  },
  {
    name: "buy, IMMEDIATE_OR_CANCEL | FILL_OR_KILL, market 3, nonce 2^32",
    key: 1,
    order: {
      marketId: 3n,
      isBuy: true,
      flags: 6n,
      maxFeeBps: 0n,
      expiry: 1n,
      nonce: 1n << 32n,
      priceTicks: 99n,
      lots: 12n,
    },
  },
  {
    name: "every number at the maximum of its type (flags 255 is rejected by settle, not by hashing)",
    key: 2,
    order: {
      marketId: U32_MAX,
      isBuy: true,
      flags: 255n,
      maxFeeBps: 65_535n,
      expiry: U40_MAX,
      nonce: U64_MAX,
      priceTicks: U64_MAX,
      lots: U64_MAX,
    },
  },
  {
    name: "every number zero, sell",
    key: 0,
    order: { marketId: 0n, isBuy: false, flags: 0n, maxFeeBps: 0n, expiry: 0n, nonce: 0n, priceTicks: 0n, lots: 0n },
  },
  {
    name: "sell, POST_ONLY | IMMEDIATE_OR_CANCEL, top bits set in nonce, price and lots",
    key: 1,
    order: {
      marketId: 1n,
      isBuy: false,
      flags: 3n,
      maxFeeBps: 100n,
      expiry: FAR_EXPIRY,
      nonce: U64_MAX - 1n,
      priceTicks: (1n << 63n) + 1n,
      lots: 1n << 40n,
    },
  },
];

export function makeVectors() {
  const typeString = TypedDataEncoder.from(TYPES).encodeType("Order");
  const domainSeparator = TypedDataEncoder.hashDomain(DOMAIN);
  const domain = {
    name: DOMAIN.name,
    version: DOMAIN.version,
    chainId: CHAIN_ID.toString(),
    verifyingContract: VERIFYING_CONTRACT,
  };
  const vectors = CASES.map(({ name, key, order: fields }) => {
    const privateKey = keyOf(KEY_PHRASES[key]);
    const order = { maker: computeAddress(privateKey), ...fields };
    const structHash = TypedDataEncoder.from(TYPES).hash(order);
    const digest = TypedDataEncoder.hash(DOMAIN, TYPES, order);
    const signature = new SigningKey(privateKey).sign(digest);
    return {
      name,
      privateKeyPreimage: KEY_PHRASES[key],
      privateKey,
      domain,
      domainSeparator,
      order: {
        maker: order.maker,
        marketId: fields.marketId.toString(),
        isBuy: fields.isBuy,
        flags: fields.flags.toString(),
        maxFeeBps: fields.maxFeeBps.toString(),
        expiry: fields.expiry.toString(),
        nonce: fields.nonce.toString(),
        priceTicks: fields.priceTicks.toString(),
        lots: fields.lots.toString(),
      },
      structHash,
      digest,
      signature: signature.serialized,
      signatureParts: { r: signature.r, s: signature.s, v: signature.v },
    };
  });
  for (const v of vectors) {
    if (recoverAddress(v.digest, v.signature) !== v.order.maker)
      throw new Error(`${v.name}: signature does not recover`);
  }
  return {
    description:
      "EIP-712 test vectors of Crossbook orders (IExchange.Order). Each vector: the order (field names as in the " +
      "Solidity struct, integers as decimal strings), the maker's throwaway private key (keccak256 of " +
      "privateKeyPreimage, UTF-8; never fund it on a real chain), the domain and its separator, the struct hash " +
      "(hashStruct), the digest (keccak256(0x1901 || domainSeparator || structHash)) and the 65-byte signature " +
      "r || s || v (v 27 or 28, RFC 6979 deterministic). Generated by scripts/make-test-vectors.ts with ethers only.",
    typeString,
    typeHash: id(typeString),
    types: TYPES,
    vectors,
  };
}

function main() {
  const text = JSON.stringify(makeVectors(), null, 2) + "\n";
  if (process.argv.includes("--check")) {
    const current = readFileSync(OUTPUT, "utf8");
    if (current !== text) {
      console.error(`${OUTPUT} differs from what scripts/make-test-vectors.ts writes`);
      process.exit(1);
    }
    console.log(`${OUTPUT} is up to date`);
    return;
  }
  mkdirSync(dirname(OUTPUT), { recursive: true });
  writeFileSync(OUTPUT, text);
  console.log(`wrote ${CASES.length} vectors to ${OUTPUT}`);
}

if (require.main === module) main();
