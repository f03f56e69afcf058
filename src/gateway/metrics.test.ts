import type { EnforcerName } from "../enforcers.js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { escapeLabel, Metrics } from "./metrics.js";

describe("Metrics", () => {
  it("counts durable records: calls, denials by enforcer (with zeros), limits, sessions, cells, lag", async () => {
    const audit = AuditLog.memory({ now: () => new Date(1_000_000) });
    const m = Metrics.attach(audit, { enforcers: ["seccomp", "authn-token"], now: () => 1_000_250 });
    await Promise.all([
      audit.append({ type: "session.opened", session: "s", isolation: "cell" }),
      audit.append({ type: "call.allowed", tool: "t" }),
      audit.append({ type: "call.completed", tool: "t" }),
      audit.append({ type: "authn.denied", enforcer: "authn-token", code: "ERR_AUTHN_TOKEN_MISSING" }),
      audit.append({ type: "guest.denied", enforcer: "wasi-jail", count: 3 }),
      audit.append({ type: "limit.exceeded", enforcer: "wasm-fuel", code: "ERR_LIMIT_EXCEEDED" }),
      audit.append({ type: "session.closed", session: "s", reason: "closed", enforcer: "reaper", killed: 1, leftovers: 0 }),
    ]);
    const text = m.render();
    for (const line of [
      'cordon_calls_total{outcome="allowed"} 1',
      'cordon_calls_total{outcome="completed"} 1',
      'cordon_calls_total{outcome="limit"} 1',
      'cordon_denials_total{enforcer="seccomp"} 0',
      'cordon_denials_total{enforcer="authn-token"} 1',
      'cordon_denials_total{enforcer="wasi-jail"} 3',
      'cordon_limits_hit_total{enforcer="wasm-fuel"} 1',
      "cordon_sessions_opened_total 1",
      "cordon_sessions_active 0",
      "cordon_cells_active 0",
      "cordon_cell_leftover_processes_total 0",
      "cordon_audit_last_seq 7",
      "cordon_audit_lag_seconds 0.250000",
    ]) assert.ok(text.split("\n").includes(line), `missing: ${line}\n${text}`);
    m.detach();
    await audit.append({ type: "call.allowed", tool: "t" });
    assert.ok(m.render().includes('cordon_calls_total{outcome="allowed"} 1'));
  });

  it("counts connection refusals by reason from their records, a throttle's summary by its count", async () => {
    const audit = AuditLog.memory();
    const m = Metrics.attach(audit, { enforcers: ["connection-limits"], connectionReasons: ["per-address", "headers-timeout", "idle-timeout"] });
    await audit.append({ type: "connection.refused", enforcer: "connection-limits", code: "ERR_GATEWAY_CONNECTIONS_EXHAUSTED", reason: "per-address" });
    await audit.append({ type: "connection.refused", enforcer: "connection-limits", code: "ERR_GATEWAY_CONNECTIONS_EXHAUSTED", reason: "per-address", suppressed: true, count: 41, windowMs: 10_000 });
    await audit.append({ type: "connection.refused", enforcer: "connection-limits", code: "ERR_GATEWAY_REQUEST_TIMEOUT", reason: "headers-timeout" });
    const lines = m.render().split("\n");
    for (const line of [
      'cordon_connections_refused_total{reason="per-address"} 42',
      'cordon_connections_refused_total{reason="headers-timeout"} 1',
      'cordon_connections_refused_total{reason="idle-timeout"} 0',
      'cordon_denials_total{enforcer="connection-limits"} 43',
    ]) assert.ok(lines.includes(line), `missing: ${line}`);
    m.detach();
  });

  it("escapes label values and bounds label cardinality", () => {
    assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const m = new Metrics();
    for (let i = 0; i < 500; i++) m.observe({ type: "x.denied", enforcer: `e${i}` as EnforcerName, seq: i + 1, time: new Date(0).toISOString(), prev: "", hash: "" });
    const series = m.render().split("\n").filter((l) => l.startsWith("cordon_denials_total{"));
    assert.ok(series.length <= 129);
    assert.ok(series.some((l) => l.startsWith('cordon_denials_total{enforcer="other"}')));
  });

  it("shows the witness: configured, up, failures, the cosigned seq and how many records are not yet witnessed", async () => {
    const audit = AuditLog.memory();
    const m = Metrics.attach(audit);
    const lines = () => m.render().split("\n").filter((l) => l.startsWith("cordon_audit_witness_"));
    assert.deepEqual(lines(), [
      "cordon_audit_witness_configured 0", "cordon_audit_witness_up 0", "cordon_audit_witness_failures_total 0", "cordon_audit_witness_cosigned_seq 0", "cordon_audit_witness_lag_records 0",
    ]);
    for (let i = 0; i < 5; i++) await audit.append({ type: "call.allowed", tool: "t" });
    audit.reportWitness({ witness: "http://127.0.0.1:8788", up: false, failures: 2, cosignedSeq: 3 });
    assert.deepEqual(lines(), [
      "cordon_audit_witness_configured 1", "cordon_audit_witness_up 0", "cordon_audit_witness_failures_total 2", "cordon_audit_witness_cosigned_seq 3", "cordon_audit_witness_lag_records 2",
    ]);
    audit.reportWitness({ witness: "http://127.0.0.1:8788", up: true, failures: 2, cosignedSeq: 5 });
    assert.ok(lines().includes("cordon_audit_witness_up 1") && lines().includes("cordon_audit_witness_lag_records 0"));
  });
});
