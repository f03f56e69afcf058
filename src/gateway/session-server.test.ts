// The per-session MCP server over the SDK's in-memory transport and real cells.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ErrorCode, LoggingMessageNotificationSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { AuditLog } from "../audit/index.js";
import { AuditWriteFailed, GuestTrap, LimitExceeded } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { startCellRuntime } from "./gateway.fixture.js";
import { createSessionServer, toCallResult } from "./session-server.js";
import { describeWithCells } from "../testing/host.js";

async function connect(runtime: Runtime, role: string, streamsNotifications?: boolean): Promise<{ client: Client; close: () => Promise<void> }> {
  const session = await runtime.openSession(role);
  const server = createSessionServer({ session, policy: runtime.policy, ...(streamsNotifications === undefined ? {} : { streamsNotifications }) });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: "test", version: "1" });
  await client.connect(b);
  return { client, close: async () => { await client.close(); await runtime.closeSession(session); } };
}

function textOf(result: object): string {
  const first = ((result as { content?: unknown }).content as { type: string; text?: string }[] | undefined)?.[0];
  return first?.type === "text" ? (first.text ?? "") : "";
}

describeWithCells("session server", () => {
  let runtime: Runtime;
  let audit: AuditLog;
  before(async () => ({ runtime, audit } = await startCellRuntime()));
  after(async () => runtime.close());

  it("lists exactly the tools the role's cell holds, described by the policy", async () => {
    for (const [role, expected] of [["analyst", ["ask-model", "notes", "text-stats"]], ["operator", ["ask-model", "build-test", "build-test-gvisor", "file-ops", "file-stats", "file-write", "notes", "text-stats"]]] as const) {
      const { client, close } = await connect(runtime, role);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), expected);
      for (const t of tools) {
        const policyTool = runtime.policy.tools.get(t.name);
        assert.equal(t.description, policyTool?.description);
        assert.deepEqual(t.inputSchema, policyTool?.inputSchema);
      }
      await close();
    }
  });

  it("calls a tool in the session's cell and returns its JSON output as text and structured content", async () => {
    const { client, close } = await connect(runtime, "analyst");
    const r = await client.callTool({ name: "text-stats", arguments: { text: "hello brave new world" } });
    assert.equal(r.isError, undefined);
    assert.deepEqual(JSON.parse(textOf(r)), r.structuredContent);
    assert.equal((r.structuredContent as { words: number }).words, 4);
    await close();
  });

  it("a tool of another role, or any look-alike of a tool name, does not exist: -32602 and a role-toolset record", async () => {
    const { client, close } = await connect(runtime, "analyst");
    const names = ["file-stats", "File-Stats", "TEXT-STATS", "text_stats", "text-stats ", " text-stats", "text\u2010stats", "t\u0435xt-stats", "text-stats\u0000", "textstats", "../file-stats", "file-stats/", "__proto__", "constructor", "toString", "hasOwnProperty", ""];
    for (const name of names) {
      const before = audit.head?.seq ?? 0;
      await assert.rejects(client.callTool({ name, arguments: { path: "poem.txt" } }), (e: unknown) => e instanceof McpError && e.code === Number(ErrorCode.InvalidParams) && /Unknown tool/.test(e.message), JSON.stringify(name));
      const records = audit.recordsAfter(before);
      assert.equal(records.length, 1, JSON.stringify(name));
      assert.equal(records[0]?.type, "call.denied");
      assert.equal(records[0]?.enforcer, "role-toolset");
      assert.equal(records[0]?.code, "ERR_TOOL_NOT_FOUND");
    }
    await close();
  });

  it("a denial is an isError result with its code and hint, and its audit seq", async () => {
    const { client, close } = await connect(runtime, "analyst");
    const bad = await client.callTool({ name: "text-stats", arguments: { text: 42 } });
    assert.equal(bad.isError, true);
    const denied = JSON.parse(textOf(bad)) as { error: { code: string; auditSeq: number } };
    assert.equal(denied.error.code, "ERR_INPUT_INVALID");
    assert.equal(audit.recordsAfter(denied.error.auditSeq - 1)[0]?.enforcer, "input-schema");
    const big = await client.callTool({ name: "text-stats", arguments: { text: "x".repeat(300 * 1024) } });
    const limit = JSON.parse(textOf(big)) as { error: { code: string; hint: string; limit: string } };
    assert.equal(big.isError, true);
    assert.equal(limit.error.code, "ERR_LIMIT_EXCEEDED");
    assert.equal(limit.error.limit, "input");
    assert.match(limit.error.hint, /limits\.input/);
    await close();
  });

  it("forwards a guest's log lines as info notifications, unless the client raised the level", async () => {
    const { client, close } = await connect(runtime, "analyst");
    const seen: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.push(n.params));
    await client.callTool({ name: "text-stats", arguments: { text: "one two three" } });
    assert.deepEqual(seen, [{ level: "info", logger: "text-stats", data: "text-stats: 3 words" }]);
    await client.setLoggingLevel("warning");
    await client.callTool({ name: "text-stats", arguments: { text: "one two" } });
    assert.equal(seen.length, 1);
    await close();
  });

  it("sends no log notifications where the transport cannot stream them (JSON responses), whatever the level", async () => {
    const { client, close } = await connect(runtime, "analyst", false);
    const seen: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.push(n.params));
    await client.setLoggingLevel("debug");
    const r = await client.callTool({ name: "text-stats", arguments: { text: "one two three" } });
    assert.equal((JSON.parse(textOf(r)) as { words: number }).words, 3);
    assert.deepEqual(seen, []);
    await close();
  });

  it("offers no method that changes grants: only tools, the role's prompts and their completions, and logging are served", async () => {
    const { client, close } = await connect(runtime, "analyst");
    assert.deepEqual(Object.keys(client.getServerCapabilities() ?? {}).sort(), ["completions", "logging", "prompts", "tools"]);
    for (const method of ["policy/update", "roles/grant", "tools/register", "prompts/create", "resources/list", "resources/subscribe", "sampling/createMessage"]) {
      await assert.rejects(client.request({ method, params: {} }, (await import("@modelcontextprotocol/sdk/types.js")).EmptyResultSchema), (e: unknown) => e instanceof McpError && e.code === Number(ErrorCode.MethodNotFound), method);
    }
    await close();
  });
});

describe("toCallResult", () => {
  it("shows an internal failure's code and a generic hint, never its message", () => {
    const r = toCallResult("t", { ok: false, error: new AuditWriteFailed("ENOSPC on /var/lib/secret-path"), logs: [], auditSeq: 7 });
    assert.equal(r.isError, true);
    const text = JSON.stringify(r);
    assert.ok(!text.includes("secret-path"));
    assert.match(text, /ERR_AUDIT_WRITE_FAILED/);
  });

  it("shows a guest trap's code, reason and frames to the caller", () => {
    const r = toCallResult("t", { ok: false, error: new GuestTrap("unreachable", "explode", ["explode", "_start"]), logs: [], auditSeq: 3 });
    const payload = JSON.parse(textOf(r)) as { error: { code: string; func: string; auditSeq: number } };
    assert.deepEqual([payload.error.code, payload.error.func, payload.error.auditSeq], ["ERR_GUEST_TRAP", "explode", 3]);
  });

  it("caps the size of a result", () => {
    const output = { s: "y".repeat(2000) };
    const r = toCallResult("t", { ok: true, output, result: { blocks: null, structured: output }, logs: [], auditSeq: 1 }, 1000);
    assert.equal(r.isError, true);
    const payload = JSON.parse(textOf(r)) as { error: { code: string; limit: string; max: number } };
    assert.deepEqual([payload.error.code, payload.error.limit, payload.error.max], [new LimitExceeded("output", 0, 0).code, "output", 1000]);
  });
});
