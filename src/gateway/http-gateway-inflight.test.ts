// A session that ends while calls are in flight: every call still gets its answer. (Found by
// the gateway load benchmark: when a session hit its call limit under concurrent load, the
// SDK transport was closed with answers pending and those requests never got a response.)
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Session } from "../runtime/session.js";
import { makeIssuer, MCP_HEADERS, openRawSession, raw, startCellRuntime, verifierFor, type RawResponse } from "./gateway.fixture.js";
import { startHttpGateway, type GatewayRuntime } from "./http-gateway.js";
import { describeWithCells } from "../testing/host.js";

/** The cordon error code in a tools/call answer, or the HTTP status when there is none. */
function answerOf(r: RawResponse): string {
  const msg = r.messages[0] as { result?: { isError?: boolean; content?: { text: string }[] } } | undefined;
  if (r.status !== 200 || msg?.result === undefined) return `http:${r.status}`;
  if (msg.result.isError !== true) return "ok";
  return (JSON.parse(msg.result.content?.[0]?.text ?? "{}") as { error?: { code?: string } }).error?.code ?? "?";
}

describeWithCells("HTTP gateway, a session ending with a call in flight", () => {
  it("answers the call in flight whether the session ended on its own or by DELETE", { timeout: 60_000 }, async () => {
    const { runtime } = await startCellRuntime();
    // Each session's calls wait at a gate, so that they are in flight when the session ends.
    let release: () => void = () => undefined;
    let gate = Promise.resolve();
    const opened: Session[] = [];
    let entered = 0;
    const gated: GatewayRuntime = {
      policy: runtime.policy,
      audit: runtime.audit,
      record: (event) => runtime.record(event),
      closeSession: (session, reason) => runtime.closeSession(session, reason),
      openSession: async (role, principal) => {
        const session = await runtime.openSession(role, principal);
        const call = session.call.bind(session);
        session.call = async (...args) => {
          entered += 1;
          await gate;
          return call(...args);
        };
        opened.push(session);
        return session;
      },
    };
    const iss = makeIssuer();
    const gw = await startHttpGateway({ runtime: gated, verifierFor: verifierFor(iss), issuers: [iss.issuer], port: 0, jsonResponse: true, sweepMs: 60_000 });
    try {
      const token = await iss.mint({ aud: gw.url });
      const headers = (sid: string) => ({ ...MCP_HEADERS, authorization: `Bearer ${token}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" });
      const callText = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "text-stats", arguments: { text: "in flight" } } });
      // Wrapped in an object: an async function returning the bare promise would wait for it.
      const inFlight = async (sid: string): Promise<{ answer: Promise<RawResponse> }> => {
        gate = new Promise<void>((resolve) => (release = resolve));
        const before = entered;
        const answer = raw(gw.url, { headers: headers(sid), body: callText });
        while (entered === before) await new Promise((resolve) => setTimeout(resolve, 5));
        return { answer };
      };

      // 1. The cordon session ends (its limits, its cell); the next request on its id tears down the MCP session.
      const first = await openRawSession(gw.url, token);
      const pending = await inFlight(first);
      await runtime.closeSession(opened[0] as Session, "max-calls");
      const next = await raw(gw.url, { headers: headers(first), body: JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/list" }) });
      assert.equal(next.status, 404);
      release();
      assert.equal(answerOf(await pending.answer), "ERR_SESSION_EXPIRED");

      // 2. The client deletes its session while one of its calls is in flight.
      const second = await openRawSession(gw.url, token);
      const pending2 = await inFlight(second);
      const deleted = raw(gw.url, { method: "DELETE", headers: headers(second) });
      // The DELETE has ended the cordon session; the call is still at the gate.
      while (opened[1]?.ended !== true) await new Promise((resolve) => setTimeout(resolve, 5));
      release();
      assert.equal(answerOf(await pending2.answer), "ERR_SESSION_EXPIRED");
      assert.equal((await deleted).status, 200);
      assert.equal(gw.sessionCount(), 0);
    } finally {
      await gw.close();
      await runtime.close();
    }
  });
});
