// End to end over real loopback HTTP: the SDK's Client against the gateway, real cells behind it.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { SignJWT } from "jose";
import { AuditLog, type AuditRecord } from "../audit/index.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { tokenDigest as digestToken } from "../authn/verify-token.js";
import { makeIssuer, MCP_HEADERS, openRawSession, raw, startCellRuntime, verifierFor, type TestIssuer } from "./gateway.fixture.js";
import { startHttpGateway, type HttpGateway } from "./http-gateway.js";
import { describeWithCells } from "../testing/host.js";

async function connect(url: string, token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: "e2e", version: "1" });
  await client.connect(transport);
  return { client, transport };
}

function textOf(result: object): string {
  const first = ((result as { content?: unknown }).content as { type: string; text?: string }[] | undefined)?.[0];
  return first?.type === "text" ? (first.text ?? "") : "";
}

describeWithCells("HTTP gateway", () => {
  let runtime: Runtime;
  let audit: AuditLog;
  let gw: HttpGateway;
  let iss: TestIssuer;
  const minted: string[] = [];
  const mint = async (claims: Record<string, unknown> = {}) => {
    const t = await iss.mint({ aud: gw.url, ...claims });
    minted.push(t);
    return t;
  };
  const since = (seq: number): AuditRecord[] => audit.recordsAfter(seq);
  const head = () => audit.head?.seq ?? 0;

  before(async () => {
    ({ runtime, audit } = await startCellRuntime());
    iss = makeIssuer();
    gw = await startHttpGateway({ runtime, verifierFor: verifierFor(iss), issuers: [iss.issuer], port: 0, maxSessionsPerPrincipal: 3 });
  });
  after(async () => {
    await gw.close();
    await runtime.close();
  });

  it("publishes RFC 9728 metadata naming this resource and its trusted issuers", async () => {
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const r = await raw(new URL(path, gw.url).href, { method: "GET" });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.text), { resource: gw.url, authorization_servers: [iss.issuer], bearer_methods_supported: ["header"], resource_name: "cordon MCP gateway" });
    }
    assert.match(gw.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it("each role lists exactly its tools, calls succeed, and another role's tool is not found", async () => {
    const expected = { analyst: ["ask-model", "notes", "text-stats"], operator: ["ask-model", "build-test", "build-test-gvisor", "file-ops", "file-stats", "file-write", "notes", "text-stats"] };
    for (const [role, tools] of Object.entries(expected)) {
      const { client, transport } = await connect(gw.url, await mint({ role, sub: `lister-${role}` }));
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), tools);
      const r = await client.callTool({ name: "text-stats", arguments: { text: "one two three" } });
      assert.equal((JSON.parse(textOf(r)) as { words: number }).words, 3);
      const notes = await client.callTool({ name: "notes", arguments: { op: "add", text: "kept for this session" } });
      assert.equal(notes.isError, undefined, textOf(notes));
      if (role === "operator") {
        const f = await client.callTool({ name: "file-stats", arguments: { path: "poem.txt" } });
        assert.equal(f.isError, undefined, textOf(f));
      } else {
        const seq = head();
        await assert.rejects(client.callTool({ name: "file-stats", arguments: { path: "poem.txt" } }), (e: unknown) => e instanceof McpError && e.code === Number(ErrorCode.InvalidParams));
        assert.deepEqual(since(seq).map((x) => [x.type, x.enforcer]), [["call.denied", "role-toolset"]]);
      }
      await transport.terminateSession();
      await client.close();
    }
  });

  it("every bad token gets 401 with a Bearer challenge and exactly one authn.denied record", async () => {
    const other = makeIssuer();
    const now = Math.floor(Date.now() / 1000);
    const valid = await mint({ sub: "victim" });
    const [h, p, s] = valid.split(".") as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${p}.`;
    const hmac = await new SignJWT({ sub: "x", role: "analyst", aud: gw.url, iss: iss.issuer, iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(iss.publicKey.export({ format: "der", type: "spki" }));
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const cases: [string, string | undefined][] = [
      ["no header", undefined],
      ["basic scheme", "Basic YWxpY2U6c2VjcmV0"],
      ["empty bearer", "Bearer "],
      ["garbage", "Bearer not.a.jwt"],
      ["expired", `Bearer ${await mint({ exp: now - 120, iat: now - 600 })}`],
      ["not yet valid", `Bearer ${await mint({ nbf: now + 3600 })}`],
      ["wrong audience", `Bearer ${await mint({ aud: "http://127.0.0.1:1/mcp" })}`],
      ["another server's path", `Bearer ${await mint({ aud: gw.url.replace("/mcp", "/other") })}`],
      ["untrusted issuer", `Bearer ${await other.mint({ aud: gw.url })}`],
      ["signed by another key", `Bearer ${await iss.mint({ aud: gw.url }, { key: other.privateKey })}`],
      ["flipped signature bit", `Bearer ${flipped}`],
      ["alg none", `Bearer ${none}`],
      ["HMAC keyed with the public key", `Bearer ${hmac}`],
      ["RS256", `Bearer ${await iss.mint({ aud: gw.url }, { alg: "RS256", key: rsa.privateKey })}`],
      ["no role", `Bearer ${await mint({ role: undefined })}`],
      ["no subject", `Bearer ${await mint({ sub: undefined })}`],
    ];
    for (const [name, header] of cases) {
      const seq = head();
      const r = await raw(gw.url, { headers: { ...MCP_HEADERS, ...(header === undefined ? {} : { authorization: header }) }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
      assert.equal(r.status, 401, name);
      const challenge = r.headers["www-authenticate"] ?? "";
      assert.ok(challenge.startsWith("Bearer "), name);
      assert.ok(challenge.includes(`resource_metadata="${gw.metadataUrl}"`), name);
      const tokenGiven = header?.startsWith("Bearer ") === true && header.length > 7;
      assert.equal(challenge.includes(`error="invalid_token"`), tokenGiven, name);
      const records = since(seq);
      assert.equal(records.length, 1, `${name}: ${JSON.stringify(records)}`);
      assert.equal(records[0]?.type, "authn.denied");
      assert.equal(records[0]?.enforcer, "authn-token");
      assert.match(records[0]?.code ?? "", /^ERR_AUTHN_/);
      assert.equal(records[0]?.["tokenDigest"], tokenGiven ? digestToken(header?.slice(7) ?? "") : null, name);
      if (header !== undefined) assert.ok(!JSON.stringify(records).includes(header.slice(7)) || header.length <= 7, `${name}: the token reached the audit log`);
    }
  });

  it("binds a session id to its principal: another token gets 404 and a session-binding record", async () => {
    const { client, transport } = await connect(gw.url, await mint({ sub: "owner" }));
    const sid = transport.sessionId ?? "";
    assert.notEqual(sid, "");
    const body = JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" });
    const headers = { ...MCP_HEADERS, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
    for (const claims of [{ sub: "intruder" }, { sub: "owner", role: "operator" }]) {
      const seq = head();
      const r = await raw(gw.url, { headers: { ...headers, authorization: `Bearer ${await mint(claims)}` }, body });
      assert.equal(r.status, 404);
      assert.deepEqual(since(seq).map((x) => [x.type, x.enforcer, x.code]), [["session.denied", "session-binding", "ERR_GATEWAY_SESSION_BINDING"]]);
    }
    const seq = head();
    const anonymous = await raw(gw.url, { headers, body });
    assert.equal(anonymous.status, 401);
    assert.deepEqual(since(seq).map((x) => x.type), ["authn.denied"]);
    // A fresh token of the same principal keeps using the session.
    const same = await raw(gw.url, { headers: { ...headers, authorization: `Bearer ${await mint({ sub: "owner" })}` }, body });
    assert.equal(same.status, 200);
    assert.deepEqual((same.messages[0] as { result: { tools: unknown[] } }).result.tools.length, 3);
    await transport.terminateSession();
    await client.close();
  });

  it("refuses a foreign Host or Origin with 403 and an origin-check record, before looking at the token", async () => {
    const token = await mint();
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    for (const bad of [{ host: "evil.example.com" }, { host: `evil.example.com:${new URL(gw.url).port}` }, { origin: "http://evil.example.com" }, { origin: "null" }, { host: "127.0.0.1.evil.example.com" }]) {
      const seq = head();
      const r = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...bad }, body });
      assert.equal(r.status, 403, JSON.stringify(bad));
      assert.deepEqual(since(seq).map((x) => [x.type, x.enforcer, x.code]), [["request.denied", "origin-check", "ERR_GATEWAY_ORIGIN_REFUSED"]]);
    }
    // A local client's web UI (another loopback port) passes the origin check.
    const local = await raw(gw.url, { headers: { ...MCP_HEADERS, origin: "http://localhost:6274" }, body });
    assert.equal(local.status, 401);
  });

  it("caps the body at 1 MiB (413) and sessions per principal (429 + record); DELETE ends the cordon session", async () => {
    const token = await mint({ sub: "capped" });
    const huge = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    assert.equal(huge.status, 413);
    const sids = [await openRawSession(gw.url, token), await openRawSession(gw.url, token), await openRawSession(gw.url, token)];
    const seq = head();
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } };
    const fourth = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify(init) });
    assert.equal(fourth.status, 429);
    assert.deepEqual(since(seq).map((x) => [x.type, x.enforcer, x.code]), [["session.denied", "session-limits", "ERR_GATEWAY_SESSIONS_EXHAUSTED"]]);
    const before = head();
    const del = await raw(gw.url, { method: "DELETE", headers: { authorization: `Bearer ${token}`, "mcp-session-id": sids[0] ?? "", "mcp-protocol-version": "2025-06-18" } });
    assert.equal(del.status, 200);
    const closed = since(before).filter((x) => x.type === "session.closed");
    assert.deepEqual(closed.map((x) => [x.enforcer, x["reason"]]), [["reaper", "closed"]]);
    const again = await openRawSession(gw.url, token);
    for (const sid of [...sids.slice(1), again]) {
      await raw(gw.url, { method: "DELETE", headers: { authorization: `Bearer ${token}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" } });
    }
    assert.equal(gw.sessionCount(), 0);
  });

  it("a validly signed token for a role the policy lacks gets 401 and one authn record (the verifier knows the policy's roles)", async () => {
    const seq = head();
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } };
    const r = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${await mint({ role: "admin" })}` }, body: JSON.stringify(init) });
    assert.equal(r.status, 401);
    assert.deepEqual(since(seq).map((x) => [x.type, x.enforcer, x.code]), [["authn.denied", "authn-token", "ERR_AUTHN_ROLE_UNKNOWN"]]);
  });

  it("serves /metrics from the audit records: denials by enforcer, with must-stay-zero series present", async () => {
    const r = await raw(new URL("/metrics", gw.url).href, { method: "GET" });
    assert.equal(r.status, 200);
    assert.match(r.headers["content-type"] ?? "", /^text\/plain; version=0\.0\.4/);
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(r.text)?.[1] ?? "NaN");
    assert.ok(value('cordon_denials_total{enforcer="authn-token"}') >= 16);
    assert.ok(value('cordon_denials_total{enforcer="role-toolset"}') >= 1);
    assert.equal(value('cordon_denials_total{enforcer="seccomp"}'), 0);
    assert.ok(Number.isFinite(value("cordon_cell_leftover_processes_total")));
    assert.ok(value('cordon_calls_total{outcome="completed"}') >= 4);
    assert.equal(value("cordon_sessions_active"), gw.sessionCount());
  });

  it("never lets a caller's token reach the audit log", () => {
    const log = JSON.stringify(audit.recordsAfter(0));
    for (const t of minted) assert.ok(!log.includes(t));
    for (const t of minted) assert.ok(!log.includes(t.split(".")[2] ?? "x"));
  });
});

describeWithCells("HTTP gateway, idle sessions", () => {
  it("an MCP session whose cordon session ended idle is swept; its id then gets 404", async () => {
    const audit = AuditLog.memory();
    const runtime = await Runtime.start({ policy: loadPolicy(EXAMPLE_POLICY), audit, isolation: "cell", sessionLimits: { idleMs: 100 } });
    const iss = makeIssuer();
    const gw = await startHttpGateway({ runtime, verifierFor: verifierFor(iss), issuers: [iss.issuer], port: 0, sweepMs: 20 });
    try {
      const token = await iss.mint({ aud: gw.url });
      const sid = await openRawSession(gw.url, token);
      assert.equal(gw.sessionCount(), 1);
      const closedRecords = () => audit.recordsAfter(0).filter((x) => x.type === "session.closed");
      while (gw.sessionCount() > 0 || closedRecords().length === 0) await new Promise((r) => setTimeout(r, 20));
      const closed = closedRecords();
      assert.deepEqual(closed.map((x) => x["reason"]), ["idle"]);
      const r = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) });
      assert.equal(r.status, 404);
    } finally {
      await gw.close();
      await runtime.close();
    }
  });
});
