/**
 * Order entry's intake: how many signed requests (orders, cancels) are inside the keeper at once,
 * and whose goes next when that many are. Below `maxInFlight` a request goes straight in; above it,
 * requests wait in one queue per client address, and each request that finishes lets in the next
 * one of the next address in turn (round robin). So one address flooding the keeper (wash trades
 * at 500 a second, fresh keys at full speed) waits behind its own requests, while another address's
 * request waits for at most one turn of each address with requests waiting — not for the flood.
 *
 * A request inside may step aside (`leave`) while it waits for something that needs no slot — an
 * order waiting in the engine behind its own account's earlier orders: its slot goes to the next
 * request in turn, and it goes on without one. So a flood of one account's orders, which the engine
 * takes one at a time, does not hold the slots while it waits for itself. At most
 * `maxQueuedPerClient` requests of one address, and `maxQueued` over every address, are aside at
 * once (beyond, `leave` keeps the slot): many addresses cannot each put their share aside.
 *
 * Memory is bounded: an address with `maxQueuedPerClient` requests waiting is refused
 * (`RATE_LIMITED`, `Retry-After: 1`) until its queue shrinks, and so is every address while
 * `maxQueued` wait in all (a stranger with many addresses, e.g. the /64s of an IPv6 range, cannot
 * queue `maxQueuedPerClient` requests on each).
 */
import { ApiError } from "./errors";

export interface IntakeLimits {
  /** Signed requests inside the keeper at once (past the intake); the rest wait their turn. */
  readonly maxInFlight: number;
  /** Requests one client address may have waiting; more are refused. */
  readonly maxQueuedPerClient: number;
  /** Requests waiting over every address; more are refused. */
  readonly maxQueued: number;
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = { maxInFlight: 64, maxQueuedPerClient: 1_000, maxQueued: 10_000 };

export class Intake {
  private inFlight = 0;
  /** Waiting requests by client key; the map's order is the round robin's (an address served goes last). */
  private readonly waiting = new Map<string, (() => void)[]>();
  /** Requests waiting, over every address. */
  private waitingCount = 0;
  /** Requests that left their slot and are still under way, by client key. */
  private readonly aside = new Map<string, number>();
  /** Requests aside, over every address. */
  private asideCount = 0;

  constructor(private readonly limits: IntakeLimits = DEFAULT_INTAKE_LIMITS) {}

  /** Requests past the intake now. */
  get active(): number {
    return this.inFlight;
  }

  /** Requests waiting, over every address. */
  get queued(): number {
    return this.waitingCount;
  }

  /**
   * Runs `task` once it is the client's turn, and lets the next request in when it settles (resolved
   * or thrown), or earlier when the task calls `leave` (see the module's comment; false when the
   * client has `maxQueuedPerClient` requests aside already, or `maxQueued` are aside over every
   * address: the task keeps its slot). Throws `RATE_LIMITED` without running it when the client has
   * too many waiting.
   */
  async run<T>(client: string, task: (leave: () => boolean) => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limits.maxInFlight || this.waiting.size > 0) await this.turn(client);
    else this.inFlight++;
    let left = false;
    const leave = () => {
      if (left) return true;
      const aside = this.aside.get(client) ?? 0;
      if (aside >= this.limits.maxQueuedPerClient || this.asideCount >= this.limits.maxQueued) return false;
      left = true;
      this.aside.set(client, aside + 1);
      this.asideCount++;
      this.release();
      return true;
    };
    try {
      return await task(leave);
    } finally {
      if (!left) this.release();
      else {
        this.asideCount--;
        const aside = (this.aside.get(client) as number) - 1;
        if (aside === 0) this.aside.delete(client);
        else this.aside.set(client, aside);
      }
    }
  }

  private turn(client: string): Promise<void> {
    let queue = this.waiting.get(client);
    if (queue !== undefined && queue.length >= this.limits.maxQueuedPerClient) {
      return Promise.reject(
        new ApiError("RATE_LIMITED", "too many requests waiting from this address", {
          retryAfterSeconds: 1,
          addressBudget: true,
        }),
      );
    }
    if (this.waitingCount >= this.limits.maxQueued) {
      return Promise.reject(
        new ApiError("RATE_LIMITED", "too many requests waiting at the keeper", { retryAfterSeconds: 1 }),
      );
    }
    if (queue === undefined) this.waiting.set(client, (queue = []));
    this.waitingCount++;
    return new Promise((resolve) => (queue as (() => void)[]).push(resolve));
  }

  /** One request left: the next address in turn sends one in (its slot is handed over, not freed). */
  private release(): void {
    for (const [client, queue] of this.waiting) {
      const next = queue.shift() as () => void;
      this.waitingCount--;
      this.waiting.delete(client);
      if (queue.length > 0) this.waiting.set(client, queue); // to the back of the round
      next();
      return;
    }
    this.inFlight--;
  }
}
