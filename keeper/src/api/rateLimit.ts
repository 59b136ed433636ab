import { isIP } from "node:net";

/**
 * Token buckets keyed by a string (an IP, an account): `rate` tokens a second, bursts up to
 * `burst`. Memory is bounded: at most `maxKeys` buckets; a full bucket carries no information, so
 * when the table is full the oldest-touched buckets are dropped first (they refill to full anyway).
 */
export interface RateLimitOptions {
  /** Tokens added per second. */
  readonly rate: number;
  /** Bucket size; `rate` by default (one second's worth). */
  readonly burst?: number;
  readonly maxKeys?: number;
  readonly clock?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly clock: () => number;

  constructor(options: RateLimitOptions) {
    this.rate = options.rate;
    this.burst = options.burst ?? options.rate;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Takes `count` tokens (one by default) for `key`, all or none. Returns 0 when allowed, else the
   * seconds to wait until there are enough (at least 1: what `Retry-After` says).
   */
  take(key: string, count = 1): number {
    const now = this.clock();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evict();
      bucket = { tokens: this.burst, at: now };
    } else {
      this.buckets.delete(key); // re-inserted below: the map's order is least recently used first
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return 0;
    }
    return Math.max(1, Math.ceil((count - bucket.tokens) / this.rate));
  }

  /**
   * What `RateLimit-*` headers say of `key`'s bucket, without taking: its size, the whole tokens
   * left, and the seconds until it is full again.
   */
  state(key: string): { limit: number; remaining: number; resetSeconds: number } {
    const bucket = this.buckets.get(key);
    const tokens =
      bucket === undefined
        ? this.burst
        : Math.min(this.burst, bucket.tokens + ((this.clock() - bucket.at) / 1000) * this.rate);
    return {
      limit: this.burst,
      remaining: Math.floor(tokens),
      resetSeconds: Math.ceil((this.burst - tokens) / this.rate),
    };
  }

  /** Seconds to wait before `key` has a token (0: it has one now), without taking it. */
  wait(key: string): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + ((this.clock() - bucket.at) / 1000) * this.rate);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.rate));
  }

  private evict(): void {
    let n = Math.max(1, Math.floor(this.maxKeys / 10));
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key);
      if (--n === 0) break;
    }
  }
}

/**
 * The key a client's budgets are kept under: an IPv4 address as it is (an IPv4-mapped IPv6 address
 * as its IPv4), an IPv6 address by its /64 — one site's allocation, inside which an attacker can pick
 * any of 2^64 addresses.
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped !== null) return mapped[1] as string;
  if (isIP(ip) !== 6) return ip;
  const [head, tail] = ip.toLowerCase().split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
