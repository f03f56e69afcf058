// The whole of MCP a session speaks, through the SDK's real Client over its in-memory
// transport and real cells: capabilities, resources (list, templates, read, subscribe with a
// change notification), prompts, completions, approval through elicitation/create, a guest's
// sampling through sampling/createMessage, progress notifications and cancellation.
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, McpError, ResourceUpdatedNotificationSchema, type ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { AuditLog } from "../audit/index.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { makeMcpPolicy, type McpPolicy } from "../testing/mcp-policy.js";
import { createSessionServer } from "./session-server.js";

describe("a session's MCP server: resources, prompts, completions, approval, sampling, progress, cancellation", () => {
  let fixture: McpPolicy;
  let runtime: Runtime;
  let audit: AuditLog;
  before(async () => {
    fixture = await makeMcpPolicy();
    audit = AuditLog.memory();
    runtime = await Runtime.start({ policy: loadPolicy(fixture.path), audit, isolation: "cell" });
  });
  after(async () => runtime.close());

  async function connect(capabilities: ClientCapabilities = {}, opts: { streams?: boolean; approvalTimeoutMs?: number } = {}) {
    const session = await runtime.openSession("user");
    const server = createSessionServer({ session, policy: runtime.policy, resourcePollMs: 50, progressTickMs: 50, ...(opts.streams === undefined ? {} : { streamsNotifications: opts.streams }), ...(opts.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: opts.approvalTimeoutMs }) });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: "test", version: "1" }, { capabilities });
    await client.connect(b);
    return { client, session, close: async () => { await client.close(); await runtime.closeSession(session); } };
  }

  it("declares what the role offers, and lists tools with their output schema", async () => {
    const { client, close } = await connect();
    assert.deepEqual(client.getServerCapabilities()?.resources, { subscribe: true, listChanged: false });
    assert.ok(client.getServerCapabilities()?.prompts !== undefined && client.getServerCapabilities()?.completions !== undefined);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.find((t) => t.name === "typed")?.outputSchema, { type: "object", properties: { count: { type: "integer" }, label: { type: "string" } }, required: ["count"] });
    const typed = await client.callTool({ name: "typed", arguments: {} });
    assert.deepEqual(typed.structuredContent, { count: 3, label: "three" });
    const image = await client.callTool({ name: "image", arguments: {} });
    assert.deepEqual((image.content as { type: string }[]).map((c) => c.type), ["text", "image"]);
    const audio = await client.callTool({ name: "audio", arguments: {} });
    assert.equal(audio.isError, true);
    assert.match(JSON.stringify(audio.content), /ERR_OUTPUT_REFUSED/);
    await close();
  });

  it("serves resources: list, templates, text and blob reads, a refusal for the planted link, completions", async () => {
    const { client, close } = await connect();
    const { resources } = await client.listResources();
    assert.deepEqual(resources.map((r) => r.uri).sort(), ["file:///data/notes.txt", "file:///data/pic.png", "file:///data/sub/deep.txt"]);
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ["file:///data/sub/{name}"]);
    const text = await client.readResource({ uri: "file:///data/notes.txt" });
    assert.equal((text.contents[0] as { text?: string }).text, "first note\n");
    const blob = await client.readResource({ uri: "file:///data/pic.png" });
    assert.equal(blob.contents[0]?.mimeType, "image/png");
    assert.ok(typeof (blob.contents[0] as { blob?: string }).blob === "string");
    await assert.rejects(client.readResource({ uri: "file:///data/link.txt" }), (e: unknown) => e instanceof McpError && e.code === -32002 && !e.message.includes("OUTSIDE"));
    const c = await client.complete({ ref: { type: "ref/resource", uri: "file:///data/sub/{name}" }, argument: { name: "name", value: "" } });
    assert.deepEqual(c.completion.values, ["deep.txt"]);
    await close();
  });

  it("announces a subscribed resource's change, polled through the jail", async () => {
    const { client, close } = await connect();
    const updated = new Promise<string>((resolve) => client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)));
    await client.subscribeResource({ uri: "file:///data/notes.txt" });
    await assert.rejects(client.subscribeResource({ uri: "file:///data/link.txt" }), (e: unknown) => e instanceof McpError && e.code === -32002);
    appendFileSync(join(fixture.data, "notes.txt"), "second note\n");
    assert.equal(await updated, "file:///data/notes.txt");
    await client.unsubscribeResource({ uri: "file:///data/notes.txt" });
    await close();
  });

  it("serves the role's prompts and completes their arguments", async () => {
    const { client, close } = await connect();
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => [p.name, p.arguments?.map((a) => [a.name, a.required])]), [["greet", [["who", true], ["mood", false]]]]);
    const got = await client.getPrompt({ name: "greet", arguments: { who: "Ada" } });
    assert.equal((got.messages[0]?.content as { text: string }).text, "Say hello to Ada in a  way.");
    await assert.rejects(client.getPrompt({ name: "greet", arguments: {} }), (e: unknown) => e instanceof McpError && e.code === -32602);
    await assert.rejects(client.getPrompt({ name: "other" }), (e: unknown) => e instanceof McpError && e.code === -32602);
    const c = await client.complete({ ref: { type: "ref/prompt", name: "greet" }, argument: { name: "who", value: "al" } });
    assert.deepEqual(c.completion.values, ["alice", "alfred"]);
    await close();
  });

  it("asks for approval with elicitation/create: decline refuses, accept runs, a client without elicitation is refused", async () => {
    for (const [caps, answer, expectError] of [
      [{ elicitation: {} }, { action: "decline" }, "ERR_APPROVAL_DECLINED"],
      [{ elicitation: {} }, { action: "accept", content: { approve: true } }, null],
      [{}, null, "ERR_APPROVAL_UNSUPPORTED"],
    ] as const) {
      const { client, close } = await connect(caps);
      let asked = 0;
      if (answer !== null) {
        client.setRequestHandler(ElicitRequestSchema, () => {
          asked += 1;
          return answer;
        });
      }
      const before = audit.head?.seq ?? 0;
      const r = await client.callTool({ name: "approved", arguments: {} });
      if (expectError === null) assert.equal(r.isError, undefined);
      else assert.match(JSON.stringify(r.content), new RegExp(expectError));
      assert.equal(asked, answer === null ? 0 : 1);
      assert.equal(audit.recordsAfter(before).filter((x) => x.enforcer === "human-approval").length, 1);
      await close();
    }
  });

  it("a server answering with JSON only cannot ask: approval fails closed", async () => {
    const { client, close } = await connect({ elicitation: {} }, { streams: false });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: "accept", content: { approve: true } }));
    const r = await client.callTool({ name: "approved", arguments: {} });
    assert.match(JSON.stringify(r.content), /ERR_APPROVAL_UNSUPPORTED/);
    await close();
  });

  it("sends a guest's sampling request to the client's model and its progress as notifications", async () => {
    const { client, close } = await connect({ sampling: {} });
    client.setRequestHandler(CreateMessageRequestSchema, (req) => ({ role: "assistant", model: "test-model", stopReason: "endTurn", content: { type: "text", text: `you said: ${(req.params.messages[0]?.content as { text: string }).text}` } }));
    const progress: number[] = [];
    const r = await client.callTool({ name: "ask", arguments: { prompt: "ping" } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    assert.equal(r.isError, undefined, JSON.stringify(r));
    assert.match((r.content as { text: string }[])[0]?.text ?? "", /you said: ping/);
    assert.deepEqual(progress, [0, 1, 2]);
    await close();
  });

  it("a cancelled call (the client's AbortSignal, notifications/cancelled) stops in its cell and is recorded", async () => {
    const { client, close } = await connect();
    const controller = new AbortController();
    const ticks: number[] = [];
    setTimeout(() => controller.abort(), 300);
    const before = audit.head?.seq ?? 0;
    await assert.rejects(client.callTool({ name: "spin", arguments: {} }, undefined, { signal: controller.signal, onprogress: (p) => ticks.push(p.progress) }));
    // The session records the cancellation once its cell has stopped the guest.
    for (let i = 0; i < 100 && !audit.recordsAfter(before).some((x) => x.type === "call.cancelled"); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(audit.recordsAfter(before).find((x) => x.type === "call.cancelled")?.["stage"], "running");
    assert.ok(ticks.length >= 2, `elapsed ticks: ${ticks.length}`);
    const after = await client.callTool({ name: "typed", arguments: {} });
    assert.deepEqual(after.structuredContent, { count: 3, label: "three" });
    await close();
  });
});
