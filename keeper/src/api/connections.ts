/**
 * The HTTP connections of each client address, and backpressure on them (keeper/API.md, "Budgets").
 *
 * - At most `maxPerAddress` HTTP connections from one address are open at once; one beyond it is
 *   closed as it arrives (its bytes are never read). A connection upgraded to the feed leaves this
 *   count (the feed caps those itself).
 * - An address that spends one of its own budgets gets one refusal (`RATE_LIMITED` with
 *   `Retry-After`) and then none of its connections is read until that time has passed: its further
 *   requests wait in its sockets (the kernel's buffers, then the client's) instead of being parsed
 *   and refused one by one. A client flooding the keeper so costs it almost nothing while it waits,
 *   and honest requests are not queued behind the flood. Writing is not stopped: answers already
 *   under way still go out.
 *
 * Connections that reach the keeper through a trusted proxy (`trustProxy`) are the proxy's: they
 * are neither capped nor held (holding one would hold every client behind the proxy).
 */
import type { Server } from "node:http";
import { BlockList, isIPv4, type Socket } from "node:net";
import { clientKey } from "./rateLimit";

/** What holding needs of a connection: stop reading it, read it again, close it. */
export interface HoldableConnection {
  stopReading(): void;
  readAgain(): void;
  destroy(): void;
}

export interface ClientConnectionsOptions {
  readonly maxPerAddress: number;
  /** Milliseconds; `Date.now` by default. */
  readonly clock?: () => number;
  /** Runs `fn` after `ms` (a timer that does not keep the process alive by default). */
  readonly after?: (ms: number, fn: () => void) => void;
}

interface Address {
  readonly connections: Set<HoldableConnection>;
  /** Until when (clock ms) its connections are not read; 0: they are. */
  heldUntil: number;
  /** Whether a timer to end the hold is pending (one at a time). */
  timer: boolean;
}

export class ClientConnections {
  private readonly addresses = new Map<string, Address>();
  private readonly maxPerAddress: number;
  private readonly clock: () => number;
  private readonly after: (ms: number, fn: () => void) => void;

  constructor(options: ClientConnectionsOptions) {
    this.maxPerAddress = options.maxPerAddress;
    this.clock = options.clock ?? Date.now;
    this.after = options.after ?? ((ms, fn) => setTimeout(fn, ms).unref());
  }

  /**
   * A new connection from `key`. False when the address has its cap of connections open: the
   * caller closes it. A connection of an address being held is not read until the hold ends.
   */
  open(key: string, connection: HoldableConnection): boolean {
    let address = this.addresses.get(key);
    if (address === undefined)
      this.addresses.set(key, (address = { connections: new Set(), heldUntil: 0, timer: false }));
    if (address.connections.size >= this.maxPerAddress) return false;
    address.connections.add(connection);
    if (address.heldUntil > 0) connection.stopReading();
    return true;
  }

  /** The connection closed, or left HTTP (upgraded to the feed). */
  closed(key: string, connection: HoldableConnection): void {
    const address = this.addresses.get(key);
    if (address === undefined || !address.connections.delete(connection)) return;
    if (address.connections.size === 0 && address.heldUntil === 0) this.addresses.delete(key);
  }

  /** Open HTTP connections from `key`. */
  count(key: string): number {
    return this.addresses.get(key)?.connections.size ?? 0;
  }

  /** Whether `key`'s connections are not being read now. */
  held(key: string): boolean {
    return (this.addresses.get(key)?.heldUntil ?? 0) > 0;
  }

  /** Stops reading every connection of `key` (and any it opens) for `ms`; a longer hold is kept. */
  hold(key: string, ms: number): void {
    const address = this.addresses.get(key);
    if (address === undefined) return; // no connection to hold (a gateway's frame, say)
    const until = this.clock() + ms;
    if (until <= address.heldUntil) return;
    const wasHeld = address.heldUntil > 0;
    address.heldUntil = until;
    if (!wasHeld) for (const c of address.connections) c.stopReading();
    this.endAfter(key, address, ms);
  }

  private endAfter(key: string, address: Address, ms: number): void {
    if (address.timer) return; // the pending timer looks again when it fires
    address.timer = true;
    this.after(ms, () => this.release(key, address));
  }

  /** Reads the address's connections again once its hold has passed (else waits for the rest of it). */
  private release(key: string, address: Address): void {
    address.timer = false;
    const left = address.heldUntil - this.clock();
    if (left > 0) return this.endAfter(key, address, left);
    address.heldUntil = 0;
    for (const c of address.connections) c.readAgain();
    if (address.connections.size === 0 && this.addresses.get(key) === address) this.addresses.delete(key);
  }
}

/**
 * A socket as a `HoldableConnection`. Node's HTTP server reads a socket's handle directly (its
 * parser consumes the stream), so `socket.pause()` does not stop it: the handle's reads are stopped.
 */
export function holdableSocket(socket: Socket): HoldableConnection {
  const handle = () => (socket as unknown as { _handle?: { readStop?(): number; readStart?(): number } })._handle;
  return {
    stopReading() {
      const h = handle();
      if (typeof h?.readStop === "function") h.readStop();
      else socket.pause();
    },
    readAgain() {
      if (socket.destroyed) return;
      const h = handle();
      if (typeof h?.readStart === "function") h.readStart();
      else socket.resume();
    },
    destroy: () => socket.destroy(),
  };
}

/**
 * Whether a peer address is one of the trusted proxies (`trustProxy`: addresses, CIDR ranges, or
 * the names `loopback`, `linklocal`, `uniquelocal` as Fastify takes them).
 */
export function trustedProxies(entries: readonly string[] | undefined): (peer: string) => boolean {
  if (entries === undefined || entries.length === 0) return () => false;
  const list = new BlockList();
  const NAMED: Record<string, string[]> = {
    loopback: ["127.0.0.0/8", "::1/128"],
    linklocal: ["169.254.0.0/16", "fe80::/10"],
    uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
  };
  for (const entry of entries.flatMap((e) => NAMED[e] ?? [e])) {
    const [address, bits] = entry.split("/") as [string, string | undefined];
    const family = isIPv4(address) ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (peer) => {
    const plain = clientKey(peer); // an IPv4-mapped IPv6 peer as its IPv4
    return isIPv4(plain) ? list.check(plain, "ipv4") : list.check(peer, "ipv6");
  };
}

/** What `guardConnections` gives the server: holding the address a request came from. */
export interface ConnectionGuard {
  /**
   * The client of `socket`, whose request came from `ip`, spent a budget of its address: none of
   * its connections is read for `seconds`. A request relayed by a trusted proxy (its `ip` is not
   * the socket's peer) holds nothing.
   */
  holdSender(socket: Socket, ip: string, seconds: number): void;
}

/**
 * Caps the HTTP connections of each client address of `server` at `maxPerAddress` (one beyond it
 * is closed as it arrives) and lets the server hold an address (`ClientConnections`). A trusted
 * proxy's connections are neither capped nor held; a connection upgraded to the feed leaves the
 * count (the feed caps those itself). The keeper's API and a gateway each guard their server so.
 */
export function guardConnections(
  server: Server,
  options: { readonly maxPerAddress: number; readonly trustProxy?: readonly string[]; readonly clock?: () => number },
): ConnectionGuard {
  const connections = new ClientConnections({ maxPerAddress: options.maxPerAddress, clock: options.clock });
  const isProxy = trustedProxies(options.trustProxy);
  const tracked = new WeakMap<Socket, { key: string; connection: HoldableConnection }>();
  server.on("connection", (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (peer === undefined || isProxy(peer)) return;
    const key = clientKey(peer);
    const connection = holdableSocket(socket);
    if (!connections.open(key, connection)) {
      socket.destroy();
      return;
    }
    tracked.set(socket, { key, connection });
    socket.once("close", () => connections.closed(key, connection));
  });
  server.on("upgrade", (_request, socket: Socket) => {
    const t = tracked.get(socket);
    if (t !== undefined) connections.closed(t.key, t.connection);
  });
  return {
    holdSender(socket, ip, seconds) {
      const t = tracked.get(socket);
      if (t !== undefined && t.key === clientKey(ip)) connections.hold(t.key, seconds * 1000);
    },
  };
}
