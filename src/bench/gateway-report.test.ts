// The gateway benchmark's bookkeeping: how answers are classified, and that a wrong answer or a
// refusal without its audit record shows in the report instead of vanishing into a rate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { outcomeOf } from "./gateway-client.js";
import type { MixedResult } from "./gateway-protocol.js";
import { mixedRows } from "./gateway-report.js";
import { summarise } from "./measure.js";

const stats = summarise([1000, 2000, 3000]);

function input(ops: MixedResult["ops"], audit: [string, number][], target: number | null = 100) {
  return {
    name: "per-role",
    granularity: "per-role" as const,
    audit: "memory" as const,
    result: { seconds: 2, cpuUs: 1000, ops, timeline: [] },
    auditCounts: new Map(audit),
    sessions: 4,
    concurrency: 8,
    gatewayCpuUs: 2000,
    cellsCpuMs: 1,
    target,
  };
}

describe("outcomeOf", () => {
  it("reads JSON and SSE answers, tool errors by their cordon code, and refusals by status", () => {
    const ok = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "{}" }] } });
    const trap = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { isError: true, content: [{ type: "text", text: JSON.stringify({ error: { code: "ERR_GUEST_TRAP" } }) }] } });
    assert.equal(outcomeOf({ status: 200, sessionId: undefined, body: ok }), "ok");
    assert.equal(outcomeOf({ status: 200, sessionId: undefined, body: trap }), "isError:ERR_GUEST_TRAP");
    assert.equal(outcomeOf({ status: 200, sessionId: undefined, body: `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message"}\n\nevent: message\ndata: ${trap}\n\n` }), "isError:ERR_GUEST_TRAP");
    assert.equal(outcomeOf({ status: 200, sessionId: undefined, body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: -32602 } }) }), "rpc:-32602");
    assert.equal(outcomeOf({ status: 401, sessionId: undefined, body: "{}" }), "http:401");
    assert.equal(outcomeOf({ status: 200, sessionId: undefined, body: "<html>" }), "unparsable");
  });
});

describe("mixedRows", () => {
  it("counts only answered tool calls in calls/s, and checks refusals against their audit records", () => {
    const rows = mixedRows(
      input(
        {
          "text-stats": { count: 300, outcomes: { ok: 300 }, stats },
          "bad-token": { count: 10, outcomes: { "http:401": 10 }, stats },
          hijack: { count: 4, outcomes: { "http:404": 4 }, stats },
          "fault-trap": { count: 2, outcomes: { "isError:ERR_GUEST_TRAP": 2 }, stats },
        },
        [["authn.denied|authn-token", 10], ["session.denied|session-binding", 4]],
      ),
    );
    const main = rows[0];
    assert.ok(main?.kind === "timing");
    assert.equal(main.callsPerSecond, 151);
    assert.deepEqual(main.target, { metric: "callsPerSecond", min: 100, pass: true });
    const outcomes = rows[1];
    assert.ok(outcomes?.kind === "info");
    assert.equal(outcomes.data?.["unexpected"], 0);
    assert.ok(!outcomes.text.includes("MISMATCH"));
  });

  it("shows unexpected answers and a refusal whose audit record is missing", () => {
    const rows = mixedRows(
      input(
        {
          "text-stats": { count: 10, outcomes: { ok: 9, "http:500": 1 }, stats },
          "bad-token": { count: 3, outcomes: { "http:401": 3 }, stats },
          "fault-loop": { count: 1, outcomes: { ok: 1 }, stats },
        },
        [["authn.denied|authn-token", 2]],
        1000,
      ),
    );
    const [main, outcomes] = rows;
    assert.ok(main?.kind === "timing" && outcomes?.kind === "info");
    assert.equal(main.target?.pass, false);
    assert.equal(outcomes.data?.["unexpected"], 2);
    assert.match(outcomes.text, /text-stats 10 \(unexpected: http:500 x1\)/);
    assert.match(outcomes.text, /fault-loop 1 \(unexpected: ok x1\)/);
    assert.match(outcomes.text, /401s 3 = authn.denied records 2 \(MISMATCH\)/);
  });

  it("is a failed row when no text-stats call completed", () => {
    const rows = mixedRows(input({ "bad-token": { count: 3, outcomes: { "http:401": 3 }, stats } }, []));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.kind, "failed");
  });
});
