/**
 * Where an order's time inside the keeper goes, from the HTTP request's arrival (node's `request`
 * event: its head parsed) to its answer's last write, in stages:
 *
 * - `body`: until its body is read and parsed (fastify's `preValidation`);
 * - `intake`: waiting for its turn at the API's intake (`./intake`);
 * - `prepare`: validation, the budgets and the signature's recovery (`OrderEntry.place` up to the engine);
 * - `engine`: the engine's queue, risk check, matching and group commit (`Engine.place`), told
 *   apart by the engine (`EngineStage`: the header names them after `total`);
 * - `reply`: the answer built, until fastify sends it (`onSend`);
 * - `write`: until the answer's last byte is handed to the socket (the response's `finish`).
 *
 * Before the arrival, for a connection's first request: `accept`, from the connection's accept (the
 * server's `connection` event, before node's HTTP setup of it) to the request's arrival. A client
 * that opened a connection for the order tells by it the wait for the keeper to accept the
 * connection from the wait for the keeper to read the request once accepted.
 *
 * Each answer to `POST /v1/orders` says the stages up to `reply` in a `Server-Timing` header (a
 * client compares them with the latency it sees: the difference is spent outside the keeper's
 * handler — in the client, the network, or the keeper's event loop before the request was read),
 * and the metric `crossbook_order_http_stage_seconds` counts every stage and the total.
 */

/** The stages in their order (see the module's comment). */
export const ORDER_HTTP_STAGES = ["body", "intake", "prepare", "engine", "reply", "write"] as const;
export type OrderHttpStage = (typeof ORDER_HTTP_STAGES)[number];
/** Parts of `engine`, as the engine tells them (`EngineOptions.onOrderStage`). */
export type EngineStage = "queue" | "check" | "commit";

export class OrderTimer {
  private readonly arrivedAt: number;
  private last: number;
  private readonly spent = new Map<OrderHttpStage, number>();
  private readonly engineSpent = new Map<EngineStage, number>();
  /** Whether the keeper knew the order's maker when it came in (undefined: not told). */
  known: boolean | undefined;

  /**
   * `clock`: milliseconds, monotonic. Starts at the request's arrival; `arrivedAtUnixMs`, when given,
   * is that moment on the wall clock (the header says it: a client on the same host tells the time
   * before the keeper read the request from the time after it answered). `acceptedAt`, when given,
   * is the clock's reading at the accept of the request's connection (its first request only).
   */
  constructor(
    private readonly clock: () => number,
    private readonly arrivedAtUnixMs?: number,
    private readonly acceptedAt?: number,
  ) {
    this.arrivedAt = this.last = clock();
  }

  /** `stage` ended now: its time is since the previous stage's end (or the arrival). */
  mark(stage: OrderHttpStage): void {
    const now = this.clock();
    this.spent.set(stage, (this.spent.get(stage) ?? 0) + (now - this.last));
    this.last = now;
  }

  /** The engine says the order spent `ms` in `stage` (a part of `engine`). */
  note(stage: EngineStage, ms: number): void {
    this.engineSpent.set(stage, (this.engineSpent.get(stage) ?? 0) + ms);
  }

  /** Milliseconds spent in each stage marked so far, in the stages' order, and `total` since arrival. */
  durations(): { stage: OrderHttpStage | "total"; ms: number }[] {
    const marked = ORDER_HTTP_STAGES.flatMap((stage) => {
      const ms = this.spent.get(stage);
      return ms === undefined ? [] : [{ stage, ms }];
    });
    return [...marked, { stage: "total", ms: this.last - this.arrivedAt }];
  }

  /**
   * The `Server-Timing` header's value (ms): `body;dur=0.4, intake;dur=12.0, …, total;dur=…`, then
   * the parts of `engine` the engine told: `queue;dur=…, check;dur=…, commit;dur=…`, then
   * `accept;dur=…` (from the connection's accept to the arrival) for a connection's first request,
   * then `arrival;desc="<unix ms>"` when the arrival's wall-clock time is known.
   */
  serverTiming(): string {
    const stages = [...this.durations(), ...[...this.engineSpent].map(([stage, ms]) => ({ stage, ms }))].map(
      ({ stage, ms }) => `${stage};dur=${ms.toFixed(1)}`,
    );
    if (this.acceptedAt !== undefined) stages.push(`accept;dur=${(this.arrivedAt - this.acceptedAt).toFixed(1)}`);
    if (this.arrivedAtUnixMs !== undefined) stages.push(`arrival;desc="${this.arrivedAtUnixMs.toFixed(1)}"`);
    return stages.join(", ");
  }
}
