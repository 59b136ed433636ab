/** The time a `Heartbeat` keeps: the global timers, or a test's own. */
export interface HeartbeatTimer {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A renewal that did not happen in time. */
export interface HeartbeatMiss {
  /** `failed`: `renew` threw; `late`: it succeeded, but more than `intervalMs` after the previous success. */
  reason: "failed" | "late";
  error?: unknown;
  /** Misses in a row, this one included (0 again after a renewal in time). */
  consecutive: number;
  /** Since the last renewal that succeeded (or since `start`), by the timer's clock. */
  sinceLastRenewMs: number;
}

/** The parameters of `Heartbeat`. */
export interface HeartbeatParameters {
  /** Renews whatever must stay alive: an on-chain `setCancelAfter`, a session, a keeper's scheduled cancel. */
  renew: () => Promise<unknown>;
  /** Time between renewals (from the end of one to the start of the next). */
  intervalMs: number;
  /** After a failed renewal, the next try comes this much later [`intervalMs` / 4]. */
  retryMs?: number | undefined;
  onRenew?: ((at: number) => void) | undefined;
  onMiss?: ((miss: HeartbeatMiss) => void) | undefined;
  /** Defaults to `Date.now` and the global timers. */
  timer?: HeartbeatTimer | undefined;
}

const systemTimer: HeartbeatTimer = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Renews something on an interval and reports the renewals that failed or came late. One renewal
 * at a time: `beat()` during a renewal joins it. `stop()` leaves no timer behind.
 *
 * @example
 * import { Heartbeat } from "@crossbook/sdk";
 * const heartbeat = new Heartbeat({
 *   intervalMs: 20_000,
 *   renew: async () => {}, // e.g. setCancelAfter(wallet, { exchange, deadline: (await chainNow(client)) + 60n })
 *   onMiss: (miss) => console.warn(`heartbeat ${miss.reason} (${miss.consecutive} in a row)`),
 * });
 * heartbeat.start();
 * heartbeat.stop();
 */
export class Heartbeat {
  private readonly timer: HeartbeatTimer;
  private handle: unknown;
  private running = false;
  private inFlight: Promise<boolean> | undefined;
  private lastRenewAt = 0;
  private consecutiveMisses = 0;
  private renewals = 0;

  constructor(private readonly parameters: HeartbeatParameters) {
    if (!(parameters.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${parameters.intervalMs}`);
    this.timer = parameters.timer ?? systemTimer;
  }

  /** Renews now, then every `intervalMs`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastRenewAt = this.timer.now();
    void this.beat();
  }

  /** No more renewals (one in flight still finishes, and is still reported). */
  stop(): void {
    this.running = false;
    if (this.handle !== undefined) this.timer.clearTimeout(this.handle);
    this.handle = undefined;
  }

  /** Renews now (or joins the renewal under way); resolves with whether it succeeded. Reschedules the next. */
  beat(): Promise<boolean> {
    this.inFlight ??= this.renewOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Renewals that succeeded. */
  get renewed(): number {
    return this.renewals;
  }

  /** Misses in a row now. */
  get misses(): number {
    return this.consecutiveMisses;
  }

  private async renewOnce(): Promise<boolean> {
    if (this.handle !== undefined) this.timer.clearTimeout(this.handle);
    this.handle = undefined;
    const { intervalMs } = this.parameters;
    let ok: boolean;
    try {
      await this.parameters.renew();
      const at = this.timer.now();
      const since = at - this.lastRenewAt;
      this.lastRenewAt = at;
      this.renewals++;
      if (this.renewals > 1 && since > intervalMs) {
        this.miss({ reason: "late", sinceLastRenewMs: since });
      } else {
        this.consecutiveMisses = 0;
      }
      this.parameters.onRenew?.(at);
      ok = true;
    } catch (error) {
      this.miss({ reason: "failed", error, sinceLastRenewMs: this.timer.now() - this.lastRenewAt });
      ok = false;
    }
    if (this.running) {
      const delay = ok ? intervalMs : (this.parameters.retryMs ?? intervalMs / 4);
      this.handle = this.timer.setTimeout(() => {
        this.handle = undefined;
        void this.beat();
      }, delay);
    }
    return ok;
  }

  private miss(miss: Omit<HeartbeatMiss, "consecutive">): void {
    this.consecutiveMisses++;
    this.parameters.onMiss?.({ ...miss, consecutive: this.consecutiveMisses });
  }
}
