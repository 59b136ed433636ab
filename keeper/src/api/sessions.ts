/**
 * Sessions: what proves, on a per-account read, that the caller controls the account. A client asks
 * for a challenge, signs the EIP-712 `FeedLogin { account, challenge }` (the feed's login), and gets
 * a bearer token that names the account and an expiry.
 *
 * Nothing is stored for a challenge nobody answers: a challenge carries its own expiry and a MAC
 * under the keeper's secret (random per process), so a stranger asking for millions costs nothing
 * but their generation. A challenge answered is remembered until it expires, so it is used once.
 * A token is the account, its expiry and a MAC: checked without a lookup, and worthless after a
 * restart (a new secret) — clients log in again (the SDK does on `SESSION_REQUIRED`).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { getAddress, type Address, type Hex } from "viem";

export interface SessionsOptions {
  /** How long a token lasts (ms). */
  readonly ttlMs: number;
  /** How long a challenge can be answered (ms). */
  readonly challengeTtlMs: number;
  readonly clock: () => number;
  /** The MAC key; random by default (sessions end with the process). */
  readonly secret?: Uint8Array;
}

export type ChallengeCheck = "ok" | "unknown" | "expired" | "used";

export class Sessions {
  private readonly secret: Uint8Array;
  /** Challenges answered, until they expire: each is good for one login. */
  private readonly used = new Map<string, number>();

  constructor(private readonly options: SessionsOptions) {
    this.secret = options.secret ?? randomBytes(32);
  }

  /** A new challenge: 16 random bytes ‖ its expiry (8 bytes, ms) ‖ a MAC of both (8 bytes). */
  challenge(): { challenge: Hex; expiresAt: number } {
    const expiresAt = this.options.clock() + this.options.challengeTtlMs;
    const body = Buffer.alloc(24);
    randomBytes(16).copy(body, 0);
    body.writeBigUInt64BE(BigInt(expiresAt), 16);
    const challenge = Buffer.concat([body, this.mac("challenge", body).subarray(0, 8)]);
    return { challenge: `0x${challenge.toString("hex")}`, expiresAt };
  }

  /** Checks a challenge the keeper issued and marks it used (once answered, good or bad, it is spent). */
  useChallenge(challenge: Hex): ChallengeCheck {
    const bytes = Buffer.from(challenge.slice(2), "hex");
    if (bytes.length !== 32) return "unknown";
    const body = bytes.subarray(0, 24);
    if (!timingSafeEqual(bytes.subarray(24), this.mac("challenge", body).subarray(0, 8))) return "unknown";
    const now = this.options.clock();
    const expiresAt = Number(body.readBigUInt64BE(16));
    if (expiresAt < now) return "expired";
    this.prune(now);
    const key = challenge.toLowerCase();
    if (this.used.has(key)) return "used";
    this.used.set(key, expiresAt);
    return "ok";
  }

  /** A bearer token for `account`: `v1.<account><expiry>.<mac>`, hex. */
  issue(account: Address): { token: string; expiresAt: number } {
    const expiresAt = this.options.clock() + this.options.ttlMs;
    const body = Buffer.alloc(28);
    Buffer.from(getAddress(account).slice(2), "hex").copy(body, 0);
    body.writeBigUInt64BE(BigInt(expiresAt), 20);
    return { token: `v1.${body.toString("hex")}.${this.mac("session", body).toString("hex")}`, expiresAt };
  }

  /** The account a token was issued to, while it has not expired; undefined for anything else. */
  verify(token: string): Address | undefined {
    const match = /^v1\.([0-9a-f]{56})\.([0-9a-f]{64})$/.exec(token);
    if (match === null) return undefined;
    const body = Buffer.from(match[1] as string, "hex");
    if (!timingSafeEqual(Buffer.from(match[2] as string, "hex"), this.mac("session", body))) return undefined;
    if (Number(body.readBigUInt64BE(20)) < this.options.clock()) return undefined;
    return getAddress(`0x${body.subarray(0, 20).toString("hex")}`);
  }

  private mac(purpose: string, body: Uint8Array): Buffer {
    return createHmac("sha256", this.secret).update(purpose).update(body).digest();
  }

  private prune(now: number): void {
    for (const [key, expiresAt] of this.used) {
      if (expiresAt >= now) break; // roughly in expiry order: challenges share one lifetime
      this.used.delete(key);
    }
  }
}
