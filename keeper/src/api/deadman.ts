/**
 * The keeper's off-chain dead-man switch (keeper/API.md, "Dead-man switch"), in memory:
 *
 * - cancel-on-disconnect: a logged-in feed connection that asked for it has every open order of its
 *   account soft-cancelled, with reason `disconnected`, when it closes (not when the keeper itself
 *   shuts down);
 * - a schedule: the account's signed `ScheduleCancel(account, at, issuedAt)` — `POST
 *   /v1/cancels/schedule` or the feed's `scheduleCancel` — soft-cancels every open order of the
 *   account, with reason `dead-man`, once the keeper's clock passes `at` without a later message
 *   moving it; `at = 0` clears it. Each message's `issuedAt` must be later than the last one taken
 *   for the account, so that an old heartbeat cannot be replayed to move the deadline back.
 *
 * Nothing here survives a restart: the on-chain `setCancelAfter` is the backstop a keeper that went
 * away cannot lose. The schedules are checked every `checkIntervalMs` against the injected clock.
 */
import type { Address, Hex } from "viem";
import { KEEPER_MESSAGE_MAX_SKEW_MS } from "@crossbook/sdk";
import type { KeeperCancelReason } from "@crossbook/sdk/keeper-wire";
import type { Engine } from "../engine";
import { silentLogger, type Logger } from "../log";
import { ApiError } from "./errors";
import type { EntryAnswer, OrderEntry, Sender } from "./orderEntry";
import { parse, scheduleCancelBody } from "./schemas";

/** The cancel reasons the switch gives: in the SDK's list, as the compiler checks. */
const DISCONNECTED: Extract<KeeperCancelReason, "disconnected"> = "disconnected";
const DEAD_MAN: Extract<KeeperCancelReason, "dead-man"> = "dead-man";

export interface DeadManOptions {
  readonly engine: Engine;
  /** Checks the signed `ScheduleCancel` (window, signature, budgets) as it checks signed cancels. */
  readonly entry: OrderEntry;
  /** Milliseconds: the schedules' `at` is of this clock. */
  readonly clock: () => number;
  readonly log?: Logger;
  /** How often the schedules are checked (default 250 ms). */
  readonly checkIntervalMs?: number;
  /** The most accounts with a schedule at once (default 100,000). */
  readonly maxSchedules?: number;
}

/** The answer to a `ScheduleCancel`: the schedule as it now stands (`at` "0": none). */
export interface ScheduleCancelJson {
  account: Address;
  at: string;
  issuedAt: string;
}

export class DeadMan {
  private readonly engine: Engine;
  private readonly entry: OrderEntry;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly maxSchedules: number;
  /** Account → the deadline (ms of `clock`) of its schedule in force. */
  private readonly deadlines = new Map<Address, number>();
  /** Account → the `issuedAt` of the last message taken, kept while a replay of it would still be fresh. */
  private readonly lastIssuedAt = new Map<Address, bigint>();
  private readonly timer: NodeJS.Timeout;
  private checking: Promise<void> | undefined;

  constructor(options: DeadManOptions) {
    this.engine = options.engine;
    this.entry = options.entry;
    this.clock = options.clock;
    this.log = options.log ?? silentLogger;
    this.maxSchedules = options.maxSchedules ?? 100_000;
    this.timer = setInterval(() => void this.check(), options.checkIntervalMs ?? 250);
    this.timer.unref();
  }

  /** The deadline of the account's schedule (ms of the keeper's clock), if one is in force. */
  deadlineOf(account: Address): number | undefined {
    return this.deadlines.get(account);
  }

  /**
   * Takes a signed `ScheduleCancel` (the body of `POST /v1/cancels/schedule`): 200 with the schedule
   * as it stands. Refused: `CANCEL_EXPIRED` outside the ±5 minute window, `BAD_CANCEL_SIGNATURE`,
   * `CANCEL_REPLAYED` when its `issuedAt` is not later than the last one taken, `FORBIDDEN` for
   * another account than the sender's session.
   */
  async schedule(sender: Sender, input: unknown): Promise<EntryAnswer<ScheduleCancelJson>> {
    const { scheduleCancel: m, signature } = parse(scheduleCancelBody, input, "body");
    const session = sender.session?.();
    if (session !== undefined && session !== m.account) {
      throw new ApiError("FORBIDDEN", `the session is ${session}'s, not ${m.account}'s`);
    }
    await this.entry.checkSigned(sender.ip, m.account, m.issuedAt, signature, {
      primaryType: "ScheduleCancel",
      message: m,
    });
    // Checked after the signature (and synchronously with the update): no await between.
    const last = this.lastIssuedAt.get(m.account);
    if (last !== undefined && m.issuedAt <= last) {
      throw new ApiError("CANCEL_REPLAYED", `issuedAt must be later than ${last}, the last ScheduleCancel taken`, {
        details: { lastIssuedAt: last.toString() },
      });
    }
    if (m.at !== 0n && !this.deadlines.has(m.account) && this.deadlines.size >= this.maxSchedules) {
      throw new ApiError("RATE_LIMITED", "too many dead-man schedules; try again later", { retryAfterSeconds: 60 });
    }
    this.lastIssuedAt.set(m.account, m.issuedAt);
    if (m.at === 0n) this.deadlines.delete(m.account);
    else this.deadlines.set(m.account, Number(m.at));
    this.log.debug({ account: m.account, at: m.at.toString() }, "dead-man schedule");
    return { status: 200, body: { account: m.account, at: m.at.toString(), issuedAt: m.issuedAt.toString() } };
  }

  /** A feed connection with cancel-on-disconnect closed: every open order of `account` is soft-cancelled. */
  async disconnected(account: Address): Promise<Hex[]> {
    return this.cancelAll(account, DISCONNECTED);
  }

  /** Fires every schedule whose deadline has passed (the timer calls it; one run at a time). */
  check(): Promise<void> {
    this.checking ??= this.fireDue().finally(() => (this.checking = undefined));
    return this.checking;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async fireDue(): Promise<void> {
    const now = this.clock();
    const due = [...this.deadlines].filter(([, at]) => at <= now).map(([account]) => account);
    for (const account of due) this.deadlines.delete(account);
    // A replay older than the window is refused as expired anyway: its issuedAt need not be kept.
    const stale = BigInt(Math.floor(now - KEEPER_MESSAGE_MAX_SKEW_MS));
    for (const [account, issuedAt] of this.lastIssuedAt) {
      if (issuedAt < stale && !this.deadlines.has(account)) this.lastIssuedAt.delete(account);
    }
    await Promise.all(due.map((account) => this.cancelAll(account, DEAD_MAN)));
  }

  private async cancelAll(account: Address, reason: typeof DISCONNECTED | typeof DEAD_MAN): Promise<Hex[]> {
    if (!this.engine.running) return [];
    try {
      const cancelled = await this.engine.cancelAll(account, { reason });
      this.log.info({ account, reason, cancelled: cancelled.length }, "dead-man switch: orders soft-cancelled");
      return cancelled;
    } catch (error) {
      this.log.error({ account, reason, err: String(error) }, "dead-man switch: the cancel failed");
      return [];
    }
  }
}
