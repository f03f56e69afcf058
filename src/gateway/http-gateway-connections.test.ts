// Slow and excess connections against a real gateway over loopback: a slowloris client is cut
// at the header timeout, a slow body at the body clock, the per-address cap refuses the next
// connection, and a flood of refusals costs a bounded number of records plus one summary that
// carries the count. Timeouts are short here; the assertions are on outcomes (the server closed
// the socket, the status, the record), never on how long anything took.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { AuditLog, type AuditRecord } from "../audit/index.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { loadPolicy } from "../policy/load-policy.js";
import { findEnforcer } from "../enforcers.js";
import { Runtime } from "../runtime/runtime.js";
import { CONNECTION_LIMITS_ENFORCER } from "./connection-guard.js";
import type { ConnectionLimitOptions } from "./connection-limits.js";
import { makeIssuer, MCP_HEADERS, openRawSession, verifierFor } from "./gateway.fixture.js";
import { startHttpGateway, type HttpGateway } from "./http-gateway.js";

interface Wire {
  readonly socket: Socket;
  /** Everything the server sent, as text. */
  received(): string;
  /** Settles when the socket is closed; `byServer` if the server ended it first. */
  readonly closed: Promise<{ byServer: boolean }>;
}

function open(port: number, localAddress = "127.0.0.1"): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    let text = "";
    let serverEnded = false;
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("end", () => {
      serverEnded = true;
    });
    socket.on("error", () => undefined);
    const closed = new Promise<{ byServer: boolean }>((done) => socket.on("close", () => done({ byServer: serverEnded || text.length > 0 })));
    socket.once("connect", () => resolve({ socket, received: () => text, closed }));
    socket.once("error", reject);
  });
}

/** Writes `text` one byte per `everyMs` until the socket closes; never finishes on its own. */
function trickle(wire: Wire, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (wire.socket.destroyed || i >= text.length) return;
    wire.socket.write(text[i++] ?? "");
  }, everyMs);
  void wire.closed.then(() => clearInterval(timer));
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe("HTTP gateway: connection limits", () => {
  let runtime: Runtime;
  let audit: AuditLog;
  const gateways: HttpGateway[] = [];
  const iss = makeIssuer();

  async function gateway(limits: ConnectionLimitOptions): Promise<HttpGateway> {
    const gw = await startHttpGateway({ runtime, verifierFor: verifierFor(iss), issuers: [iss.issuer], port: 0, jsonResponse: true, ...limits });
    gateways.push(gw);
    return gw;
  }
  const port = (gw: HttpGateway) => Number(new URL(gw.url).port);
  const refusals = (since: number): AuditRecord[] => audit.recordsAfter(since).filter((r) => r.type === "connection.refused");
  const head = () => audit.head?.seq ?? 0;

  before(async () => {
    audit = AuditLog.memory();
    runtime = await Runtime.start({ policy: loadPolicy(EXAMPLE_POLICY), audit, isolation: "in-process" });
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await runtime.close();
  });

  it("names a registered control-plane enforcer", () => {
    const e = findEnforcer(CONNECTION_LIMITS_ENFORCER);
    assert.equal(e?.tier, "control-plane");
    assert.ok(e?.covers.includes("gateway.connections"));
  });

  it("cuts a client sending its headers one byte at a time at the header timeout: 408, closed by the server, one record", async () => {
    const gw = await gateway({ headersTimeoutMs: 300, requestTimeoutMs: 5000 });
    const seq = head();
    const wire = await open(port(gw));
    trickle(wire, `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port(gw)}\r\nX-Slow: ${"a".repeat(10_000)}`, 20);
    const closed = await wire.closed;
    assert.ok(closed.byServer, "the server must close the connection");
    assert.equal(statusOf(wire.received()), 408);
    assert.match(wire.received(), /ERR_GATEWAY_REQUEST_TIMEOUT/);
    await gw.close();
    const records = refusals(seq);
    assert.equal(records.length, 1);
    assert.deepEqual([records[0]?.enforcer, records[0]?.code, records[0]?.["reason"], records[0]?.["phase"], records[0]?.["status"], records[0]?.["address"]], [CONNECTION_LIMITS_ENFORCER, "ERR_GATEWAY_REQUEST_TIMEOUT", "headers-timeout", "headers", 408, "127.0.0.1"]);
  });

  it("cuts a connection that never sends a byte at the header timeout too", async () => {
    const gw = await gateway({ headersTimeoutMs: 300, requestTimeoutMs: 5000 });
    const seq = head();
    const wire = await open(port(gw));
    assert.ok((await wire.closed).byServer);
    await gw.close();
    assert.deepEqual(refusals(seq).map((r) => r["reason"]), ["headers-timeout"]);
  });

  it("cuts a body sent too slowly: 408 with a JSON-RPC error once the body stalls, closed by the server, one record", async () => {
    for (const [limits, reason] of [[{ bodyIdleTimeoutMs: 200, bodyTimeoutMs: 10_000 }, "body-idle-timeout"], [{ bodyIdleTimeoutMs: 5000, bodyTimeoutMs: 300 }, "body-timeout"]] as const) {
      const gw = await gateway(limits);
      const seq = head();
      const wire = await open(port(gw));
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} });
      const headers = [`POST /mcp HTTP/1.1`, `Host: 127.0.0.1:${port(gw)}`, `authorization: Bearer ${await iss.mint({ aud: gw.url })}`, `content-type: ${MCP_HEADERS["content-type"]}`, `accept: ${MCP_HEADERS.accept}`, `content-length: ${body.length}`];
      wire.socket.write(`${headers.join("\r\n")}\r\n\r\n${body.slice(0, 5)}`);
      // body-idle: nothing more; body-total: a byte every 50 ms, never stalling, never finishing in time.
      if (reason === "body-timeout") trickle(wire, body.slice(5), 50);
      const closed = await wire.closed;
      assert.ok(closed.byServer, reason);
      assert.equal(statusOf(wire.received()), 408, reason);
      const json = JSON.parse(wire.received().slice(wire.received().indexOf("\r\n\r\n") + 4)) as { id: unknown; error: { code: number; data: { code: string } } };
      assert.deepEqual([json.id, json.error.code, json.error.data.code], [null, -32000, "ERR_GATEWAY_REQUEST_TIMEOUT"], reason);
      await gw.close();
      const records = refusals(seq);
      assert.deepEqual(records.map((r) => [r.enforcer, r["reason"], r["status"]]), [[CONNECTION_LIMITS_ENFORCER, reason, 408]], reason);
    }
  });

  it("the socket idle clock cuts a body that stalls (408, idle-timeout), but never an answer the gateway itself is still preparing", async () => {
    const limits = { idleTimeoutMs: 300, bodyIdleTimeoutMs: 20_000, bodyTimeoutMs: 20_000 };
    const gw = await gateway(limits);
    const seq = head();
    const wire = await open(port(gw));
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    const token = await iss.mint({ aud: gw.url });
    wire.socket.write([`POST /mcp HTTP/1.1`, `Host: 127.0.0.1:${port(gw)}`, `authorization: Bearer ${token}`, `content-type: application/json`, `accept: ${MCP_HEADERS.accept}`, `content-length: ${body.length}`, "", body.slice(0, 3)].join("\r\n"));
    assert.ok((await wire.closed).byServer);
    assert.equal(statusOf(wire.received()), 408);
    // An SSE stream (SDK transport) with nothing to send yet: the wait is the gateway's, not the client's.
    const sse = await startHttpGateway({ runtime, verifierFor: verifierFor(iss), issuers: [iss.issuer], port: 0, ...limits });
    gateways.push(sse);
    const sseToken = await iss.mint({ aud: sse.url });
    const sid = await openRawSession(sse.url, sseToken);
    const stream = await open(Number(new URL(sse.url).port));
    stream.socket.write([`GET /mcp HTTP/1.1`, `Host: ${new URL(sse.url).host}`, `authorization: Bearer ${sseToken}`, "accept: text/event-stream", `mcp-session-id: ${sid}`, "mcp-protocol-version: 2025-06-18", "", ""].join("\r\n"));
    await until(() => stream.received().includes("\r\n\r\n"));
    assert.equal(statusOf(stream.received()), 200);
    const stillOpen = await Promise.race([stream.closed.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 4 * limits.idleTimeoutMs))]);
    assert.ok(stillOpen, "an idle SSE stream whose client reads it is not cut");
    stream.socket.destroy();
    await gw.close();
    await sse.close();
    assert.deepEqual(refusals(seq).map((r) => [r["reason"], r["phase"], r["status"]]), [["idle-timeout", "idle", 408]]);
  });

  it("refuses the (N+1)th connection from one address with 429 and closes it; other addresses and freed slots are served", async () => {
    const gw = await gateway({ maxConnectionsPerAddress: 3, maxConnections: 10, headersTimeoutMs: 10_000 });
    const seq = head();
    const held = await Promise.all([1, 2, 3].map(() => open(port(gw))));
    const extra = await open(port(gw));
    const closed = await extra.closed;
    assert.ok(closed.byServer);
    assert.equal(statusOf(extra.received()), 429);
    assert.match(extra.received(), /retry-after: 5/);
    assert.match(extra.received(), /ERR_GATEWAY_CONNECTIONS_EXHAUSTED/);
    assert.equal(gw.connectionCount(), 3);
    // Another loopback address has its own share (Linux routes all of 127/8 to lo).
    const other = await open(port(gw), "127.0.0.2");
    other.socket.write(`GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: 127.0.0.1:${port(gw)}\r\nconnection: close\r\n\r\n`);
    await other.closed;
    assert.equal(statusOf(other.received()), 200);
    held[0]?.socket.destroy();
    await until(() => gw.connectionCount() === 2);
    const again = await open(port(gw));
    again.socket.write(`GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: 127.0.0.1:${port(gw)}\r\nconnection: close\r\n\r\n`);
    await again.closed;
    assert.equal(statusOf(again.received()), 200, "a freed slot is usable again");
    for (const w of held) w.socket.destroy();
    await gw.close();
    const records = refusals(seq);
    assert.deepEqual(records.map((r) => [r.code, r["reason"], r["scope"], r["max"], r["status"], r["address"]]), [["ERR_GATEWAY_CONNECTIONS_EXHAUSTED", "per-address", "address", 3, 429, "127.0.0.1"]]);
  });

  it("refuses past the total cap with 503", async () => {
    const gw = await gateway({ maxConnectionsPerAddress: 2, maxConnections: 2 });
    const seq = head();
    const held = await Promise.all([open(port(gw)), open(port(gw), "127.0.0.2")]);
    const extra = await open(port(gw), "127.0.0.3");
    await extra.closed;
    assert.equal(statusOf(extra.received()), 503);
    for (const w of held) w.socket.destroy();
    await gw.close();
    assert.deepEqual(refusals(seq).map((r) => [r["reason"], r["scope"], r["status"]]), [["total", "gateway", 503]]);
  });

  it("a flood of 1,000 refused connections yields a bounded number of records and one summary with the count", async () => {
    const gw = await gateway({ maxConnectionsPerAddress: 1, maxConnections: 10, connectionRecordsPerWindow: 5, connectionRecordWindowMs: 60_000, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    const seq = head();
    const holder = await open(port(gw));
    let refused = 0;
    for (let batch = 0; batch < 20; batch++) {
      const wires = await Promise.all(Array.from({ length: 50 }, () => open(port(gw))));
      const results = await Promise.all(wires.map(async (w) => ((await w.closed).byServer && statusOf(w.received()) === 429 ? 1 : 0)));
      refused += results.reduce<number>((a, b) => a + b, 0);
    }
    assert.equal(refused, 1000);
    const metricsBefore = await fetchMetrics(gw);
    holder.socket.destroy();
    await gw.close();
    const records = refusals(seq);
    const single = records.filter((r) => r["suppressed"] !== true);
    const summaries = records.filter((r) => r["suppressed"] === true);
    assert.equal(single.length, 5);
    assert.deepEqual(summaries.map((r) => [r.enforcer, r.code, r["reason"], r["count"]]), [[CONNECTION_LIMITS_ENFORCER, "ERR_GATEWAY_CONNECTIONS_EXHAUSTED", "per-address", 995]]);
    // /metrics counted the 5 recorded ones while the window was open; the summary completes the count.
    assert.match(metricsBefore, /cordon_connections_refused_total\{reason="per-address"\} 5\n/);
    assert.match(metricsBefore, /cordon_connections_refused_total\{reason="headers-timeout"\} 0\n/);
  });

  it("/metrics counts refused and timed-out connections by reason, summaries by their count", async () => {
    const gw = await gateway({ maxConnectionsPerAddress: 1, maxConnections: 10, connectionRecordsPerWindow: 2, connectionRecordWindowMs: 200, headersTimeoutMs: 1500, requestTimeoutMs: 5000 });
    const holder = await open(port(gw));
    for (let i = 0; i < 6; i++) await (await open(port(gw))).closed;
    // The holder never sends a byte: it is cut at the header timeout, long after the record
    // window of the six refusals has ended and its summary was written by the throttle's timer.
    await holder.closed;
    const text = await fetchMetrics(gw);
    assert.match(text, /cordon_connections_refused_total\{reason="per-address"\} 6\n/);
    assert.match(text, /cordon_connections_refused_total\{reason="headers-timeout"\} 1\n/);
    assert.match(text, /cordon_denials_total\{enforcer="connection-limits"\} 7\n/);
    await gw.close();
  });

  it("refuses options that make no sense", async () => {
    await assert.rejects(gateway({ headersTimeoutMs: 0 }), /headersTimeoutMs must be an integer/);
    await assert.rejects(gateway({ headersTimeoutMs: 5000, requestTimeoutMs: 1000 }), /must not exceed requestTimeoutMs/);
    await assert.rejects(gateway({ maxConnectionsPerAddress: 10, maxConnections: 5 }), /must not exceed maxConnections/);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), "condition not reached");
}

async function fetchMetrics(gw: HttpGateway): Promise<string> {
  const wire = await open(Number(new URL(gw.url).port), "127.0.0.9");
  wire.socket.write(`GET /metrics HTTP/1.1\r\nHost: ${new URL(gw.url).host}\r\nconnection: close\r\n\r\n`);
  await wire.closed;
  return wire.received();
}
