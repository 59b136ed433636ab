/**
 * `ClientConnections` (keeper/src/api/connections.ts): each address's HTTP connections capped, and
 * none of them read while the address is held (over one of its own budgets) — with fake
 * connections, an injected clock and timers run by hand.
 */
import { expect } from "chai";
import { ClientConnections, trustedProxies, type HoldableConnection } from "../../../keeper/src/api/connections";
import { manualClock } from "../support";

function fakeConnection() {
  const c = { reading: true, destroyed: false };
  const connection: HoldableConnection = {
    stopReading: () => void (c.reading = false),
    readAgain: () => void (c.reading = true),
    destroy: () => void (c.destroyed = true),
  };
  return { state: c, connection };
}

function setUp(maxPerAddress = 3) {
  const clock = manualClock(1_000_000);
  const timers: { at: number; fn: () => void }[] = [];
  const connections = new ClientConnections({
    maxPerAddress,
    clock: clock.now,
    after: (ms, fn) => void timers.push({ at: clock.now() + ms, fn }),
  });
  /** Advances the clock and runs the timers due by then. */
  const advance = (ms: number) => {
    clock.advance(ms);
    for (;;) {
      const due = timers.findIndex((t) => t.at <= clock.now());
      if (due < 0) return;
      timers.splice(due, 1)[0].fn();
    }
  };
  return { connections, advance, timers };
}

describe("api: ClientConnections", function () {
  it("takes an address's connections up to its cap, and another address's apart", () => {
    const { connections } = setUp(2);
    const [a, b, c] = [fakeConnection(), fakeConnection(), fakeConnection()];
    expect(connections.open("10.0.0.1", a.connection)).to.equal(true);
    expect(connections.open("10.0.0.1", b.connection)).to.equal(true);
    expect(connections.open("10.0.0.1", c.connection)).to.equal(false);
    expect(connections.open("10.0.0.2", fakeConnection().connection)).to.equal(true);
    connections.closed("10.0.0.1", a.connection);
    expect(connections.open("10.0.0.1", c.connection)).to.equal(true);
    expect(connections.count("10.0.0.1")).to.equal(2);
  });

  it("stops reading every connection of a held address until the hold has passed, and only its", () => {
    const { connections, advance } = setUp();
    const [a, b, other] = [fakeConnection(), fakeConnection(), fakeConnection()];
    connections.open("10.0.0.1", a.connection);
    connections.open("10.0.0.1", b.connection);
    connections.open("10.0.0.2", other.connection);
    connections.hold("10.0.0.1", 1000);
    expect([a.state.reading, b.state.reading, other.state.reading]).to.deep.equal([false, false, true]);
    // A connection it opens while held is not read either.
    const late = fakeConnection();
    connections.open("10.0.0.1", late.connection);
    expect(late.state.reading).to.equal(false);
    advance(999);
    expect(connections.held("10.0.0.1")).to.equal(true);
    expect(a.state.reading).to.equal(false);
    advance(1);
    expect(connections.held("10.0.0.1")).to.equal(false);
    expect([a.state.reading, b.state.reading, late.state.reading]).to.deep.equal([true, true, true]);
  });

  it("keeps the longer of two holds, with one timer at a time", () => {
    const { connections, advance, timers } = setUp();
    const a = fakeConnection();
    connections.open("10.0.0.1", a.connection);
    connections.hold("10.0.0.1", 1000);
    advance(500);
    connections.hold("10.0.0.1", 2000); // now until 2,500 from the start
    connections.hold("10.0.0.1", 100); // shorter: no change
    expect(timers.length).to.equal(1);
    advance(500); // the first timer fires, and waits for the rest
    expect(a.state.reading).to.equal(false);
    advance(1499);
    expect(a.state.reading).to.equal(false);
    advance(1);
    expect(a.state.reading).to.equal(true);
  });

  it("forgets an address with no connection and no hold", () => {
    const { connections, advance } = setUp();
    const a = fakeConnection();
    connections.open("10.0.0.1", a.connection);
    connections.hold("10.0.0.1", 1000);
    connections.closed("10.0.0.1", a.connection);
    advance(1000);
    expect(connections.held("10.0.0.1")).to.equal(false);
    expect(connections.count("10.0.0.1")).to.equal(0);
    connections.hold("10.0.0.9", 1000); // nothing open from there: nothing to hold
    expect(connections.held("10.0.0.9")).to.equal(false);
  });

  it("knows the trusted proxies by address, range and name, IPv4-mapped peers included", () => {
    const trusted = trustedProxies(["10.1.2.3", "192.168.0.0/16", "loopback", "2001:db8::/32"]);
    expect(
      ["10.1.2.3", "::ffff:10.1.2.3", "192.168.7.1", "127.0.0.1", "::1", "2001:db8::5"].map(trusted),
    ).to.deep.equal([true, true, true, true, true, true]);
    expect(["10.1.2.4", "203.0.113.1", "2001:db9::1"].map(trusted)).to.deep.equal([false, false, false]);
    expect(trustedProxies([])("127.0.0.1")).to.equal(false);
  });
});
