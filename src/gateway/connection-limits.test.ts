// The connection limits as data: defaults and validation, whose share a remote address counts
// against, the counter, and the record throttle (frozen clock).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressKey, checkingIntervalMs, ConnectionCounter, connectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connection-limits.js";
import { RecordThrottle } from "./record-throttle.js";

describe("connectionLimits", () => {
  it("fills in every default and refuses zero, fractions, overflowing timers and contradictions", () => {
    assert.deepEqual(connectionLimits({}), DEFAULT_CONNECTION_LIMITS);
    assert.equal(connectionLimits({ headersTimeoutMs: 1500 }).headersTimeoutMs, 1500);
    for (const bad of [{ headersTimeoutMs: 0 }, { bodyIdleTimeoutMs: 1.5 }, { idleTimeoutMs: 2 ** 31 }, { maxConnections: -1 }, { connectionRecordsPerWindow: Number.NaN }]) {
      assert.throws(() => connectionLimits(bad), (e: unknown) => (e as { code?: string }).code === "ERR_USAGE", JSON.stringify(bad));
    }
    assert.throws(() => connectionLimits({ headersTimeoutMs: 40_000 }), /requestTimeoutMs/);
    assert.throws(() => connectionLimits({ maxConnections: 10 }), /maxConnectionsPerAddress/);
    assert.equal(checkingIntervalMs({ headersTimeoutMs: 10_000 }), 1000);
    assert.equal(checkingIntervalMs({ headersTimeoutMs: 400 }), 100);
    assert.equal(checkingIntervalMs({ headersTimeoutMs: 1 }), 25);
  });
});

describe("addressKey", () => {
  it("keeps IPv4, unmaps IPv4-mapped IPv6, and groups IPv6 by its /64", () => {
    const cases: [string | undefined, string][] = [
      ["127.0.0.1", "127.0.0.1"],
      ["::ffff:127.0.0.2", "127.0.0.2"],
      ["::ffff:7f00:3", "127.0.0.3"],
      ["::1", "0:0:0:0::/64"],
      ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
      ["2001:db8:1:2::99", "2001:db8:1:2::/64"],
      ["2001:DB8:1:2:ffff::1", "2001:db8:1:2::/64"],
      ["2001:db8::", "2001:db8:0:0::/64"],
      ["fe80::1%eth0", "fe80:0:0:0::/64"],
      ["::ffff:1.2.3.4", "1.2.3.4"],
      ["64:ff9b::1.2.3.4", "64:ff9b:0:0::/64"],
      [undefined, "unknown"],
      ["not an address", "unknown"],
      ["", "unknown"],
    ];
    for (const [remote, key] of cases) assert.equal(addressKey(remote), key, String(remote));
    // Every address of one /64 shares one key; the next /64 is another.
    assert.equal(addressKey("2001:db8:0:7:aaaa::1"), addressKey("2001:db8:0:7:bbbb:cccc:dddd:eeee"));
    assert.notEqual(addressKey("2001:db8:0:7::1"), addressKey("2001:db8:0:8::1"));
  });
});

describe("ConnectionCounter", () => {
  it("caps per address, then in total; refused connections are not counted; released slots are reusable", () => {
    const c = new ConnectionCounter({ maxConnectionsPerAddress: 2, maxConnections: 3 });
    assert.equal(c.admit("a"), null);
    assert.equal(c.admit("a"), null);
    const perAddress = c.admit("a");
    assert.deepEqual([perAddress?.code, perAddress?.scope, perAddress?.max, perAddress?.address], ["ERR_GATEWAY_CONNECTIONS_EXHAUSTED", "address", 2, "a"]);
    assert.equal(c.admit("b"), null);
    assert.equal(c.admit("c")?.scope, "gateway");
    assert.deepEqual([c.total, c.held("a"), c.held("c")], [3, 2, 0]);
    c.release("a");
    assert.equal(c.admit("c"), null);
    c.release("nobody");
    assert.equal(c.total, 3);
  });
});

describe("RecordThrottle", () => {
  it("records at most perWindow events per key per window, and sums up the rest once per window", () => {
    let t = 1000;
    const th = new RecordThrottle({ perWindow: 3, windowMs: 100, now: () => t });
    const admitted = Array.from({ length: 1000 }, () => th.admit("flood")).filter(Boolean).length;
    assert.equal(admitted, 3);
    assert.equal(th.admit("other"), true, "each key has its own window");
    assert.deepEqual(th.due(), [], "the window has not ended");
    assert.equal(th.nextDueMs(), 100);
    t += 60;
    assert.equal(th.nextDueMs(), 40);
    t += 40;
    assert.deepEqual(th.due(), [{ key: "flood", count: 997, windowMs: 100 }]);
    assert.deepEqual(th.due(), [], "each summary is handed out once");
    assert.equal(th.nextDueMs(), null);
    // A new window starts fresh; an ended window is summed up even if the next event comes first.
    for (let i = 0; i < 5; i++) th.admit("flood");
    t += 150;
    assert.equal(th.admit("flood"), true);
    assert.equal(th.nextDueMs(), 0);
    assert.deepEqual(th.due(), [{ key: "flood", count: 2, windowMs: 100 }]);
    th.admit("flood");
    th.admit("flood");
    th.admit("flood");
    assert.deepEqual(th.drainAll(), [{ key: "flood", count: 1, windowMs: 100 }]);
    assert.deepEqual(th.drainAll(), []);
  });
});
