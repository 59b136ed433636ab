/**
 * The keeper's memo of order signers. The engine's precheck and the risk check ask for the same
 * order's signer one after the other, and a shard behind gateways is told it with the order (the
 * gateway recovered it): each answer is remembered here, keyed by the signature, with the order's
 * fields and the domain it was signed under. A lookup answers only when all of them are the ones
 * asked about, so a signature copied onto another order, or sent for another Exchange, finds
 * nothing and is recovered. Comparing nine fields costs far less than hashing the order for a key
 * (EIP-712: the encoding and two keccaks each time), and an order a gateway vouches for is taken
 * as the frame carries it, unparsed: parsing it is left to order entry, which does it anyway.
 */
import type { Address, Hex } from "viem";
import type { ExchangeDomainParameters, Order } from "@crossbook/sdk";
import { DEFAULT_INTAKE_LIMITS } from "../api/intake";

/**
 * The signatures a memo keeps by default: every order past the API's intake at once (in flight,
 * waiting their turn, and aside behind their account's earlier orders: `maxInFlight + 2 ×
 * maxQueued`, 20,064). A gateway vouches for a signer when its frame arrives and the engine asks
 * at the order's turn, so a memo smaller than what waits between the two loses the gateway's word
 * and recovers the signature again (1,024 did, past 1,024 frames in flight). About 850 bytes an
 * entry: some 17 MB when full.
 */
export const SIGNER_MEMO_CAPACITY = DEFAULT_INTAKE_LIMITS.maxInFlight + 2 * DEFAULT_INTAKE_LIMITS.maxQueued;

/** The order's fields in `ORDER_FIELDS`' order, then the domain, each as a canonical string. */
type Key = readonly string[];

/** Every field of an order: what its signature covers, with the domain. */
const ORDER_FIELDS = [
  "maker",
  "marketId",
  "isBuy",
  "flags",
  "maxFeeBps",
  "expiry",
  "nonce",
  "priceTicks",
  "lots",
] as const satisfies readonly (keyof Order)[];

interface Entry {
  readonly key: Key;
  readonly signer: Promise<Address | undefined>;
}

export class SignerMemo {
  private readonly entries = new Map<string, Entry>();

  /** `capacity`: the most signatures remembered (the oldest goes first). */
  constructor(private readonly capacity = SIGNER_MEMO_CAPACITY) {}

  /** What is remembered of `order` signed with `signature` under `domain`, if anything. */
  get(order: Order, signature: Hex, domain: ExchangeDomainParameters): Promise<Address | undefined> | undefined {
    const entry = this.entries.get(signature);
    if (entry === undefined) return undefined;
    return sameKey(entry.key, keyOf(order, domain)) ? entry.signer : undefined;
  }

  /** Remembers the signer recovered here for `order` signed with `signature` under `domain`; returns it. */
  remember(
    order: Order,
    signature: Hex,
    domain: ExchangeDomainParameters,
    signer: Promise<Address | undefined>,
  ): Promise<Address | undefined> {
    this.put(signature, { key: keyOf(order, domain), signer });
    return signer;
  }

  /**
   * Remembers the signer a gateway recovered, for the order and signature as the frame carries them
   * (JSON, unparsed): integers as decimal strings or JSON numbers. Nothing is remembered for a
   * shape that is not an order's; order entry refuses that anyway.
   */
  vouch(order: unknown, signature: unknown, domain: ExchangeDomainParameters, signer: Address): void {
    if (typeof signature !== "string" || typeof order !== "object" || order === null) return;
    const fields = order as Record<string, unknown>;
    const key: string[] = [];
    for (const name of ORDER_FIELDS) {
      const value = fields[name];
      const expected = name === "maker" ? "string" : name === "isBuy" ? "boolean" : undefined;
      if (expected !== undefined && typeof value !== expected) return;
      if (expected === undefined && typeof value !== "string" && typeof value !== "number") return;
      key.push(name === "maker" ? (value as string).toLowerCase() : String(value));
    }
    key.push(domainKey(domain));
    this.put(signature, { key, signer: Promise.resolve(signer) });
  }

  private put(signature: string, entry: Entry): void {
    this.entries.delete(signature); // a newer entry goes to the back
    this.entries.set(signature, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/**
 * A parsed order's key. A decimal string equals a bigint's `toString` only when the values are
 * equal, and a JSON number's `String` too for the safe integers order entry accepts, so the key
 * of an order as a frame carried it equals the parsed order's only for the same order.
 */
function keyOf(order: Order, domain: ExchangeDomainParameters): Key {
  return [
    ...ORDER_FIELDS.map((name) => (name === "maker" ? order.maker.toLowerCase() : String(order[name]))),
    domainKey(domain),
  ];
}

function domainKey(domain: ExchangeDomainParameters): string {
  return `${BigInt(domain.chainId)}:${domain.verifyingContract.toLowerCase()}`;
}

function sameKey(a: Key, b: Key): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
