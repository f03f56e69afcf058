// cordon's JSON-answer transport: the SDK's client works through it end to end, and it answers
// what the SDK's transport answers in JSON mode (406, 415, 400, 404, 202), except that a batch or
// valid JSON that is no message is -32600 (not the SDK's -32700), and GET gets 405.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Runtime } from "../runtime/runtime.js";
import { makeIssuer, MCP_HEADERS, openRawSession, raw, startCellRuntime, verifierFor, type RawResponse } from "./gateway.fixture.js";
import { startHttpGateway, type HttpGateway } from "./http-gateway.js";
import { JsonResponseTransport } from "./json-transport.js";
import { readJsonBody } from "./read-body.js";

type Msg = { id?: unknown; result?: unknown; error?: { code: number; message: string } };
const body = (r: RawResponse): Msg | Msg[] => JSON.parse(r.text) as Msg | Msg[];

describe("JSON-answer transport through the gateway", () => {
  let runtime: Runtime;
  let gw: HttpGateway;
  let token: string;
  let sid: string;
  const headers = (extra: Record<string, string> = {}) => ({ ...MCP_HEADERS, authorization: `Bearer ${token}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18", ...extra });
  const post = (message: unknown, extra: Record<string, string> = {}) => raw(gw.url, { headers: headers(extra), body: JSON.stringify(message) });

  before(async () => {
    ({ runtime } = await startCellRuntime());
    const iss = makeIssuer();
    gw = await startHttpGateway({ runtime, verifierFor: verifierFor(iss), issuers: [iss.issuer], port: 0, jsonResponse: true });
    token = await iss.mint({ aud: gw.url, sub: "json-client" });
    sid = await openRawSession(gw.url, token);
  });
  after(async () => {
    await gw.close();
    await runtime.close();
  });

  it("serves the SDK's own client: list, call, terminate", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: "json-e2e", version: "1" });
    await client.connect(transport);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ["ask-model", "notes", "text-stats"]);
    const r = await client.callTool({ name: "text-stats", arguments: { text: "one two three" } });
    assert.deepEqual(r.structuredContent, { lines: 1, words: 3, chars: 13, bytes: 13, longestWord: "three" });
    const before = gw.sessionCount();
    await transport.terminateSession();
    await client.close();
    assert.equal(gw.sessionCount(), before - 1);
  });

  it("answers one request with one object, refuses a batch with -32600 (id null), notifications get 202", async () => {
    const one = await post({ jsonrpc: "2.0", id: 1, method: "ping" });
    assert.equal(one.status, 200);
    assert.equal(one.headers["mcp-session-id"], sid);
    assert.deepEqual(body(one), { jsonrpc: "2.0", id: 1, result: {} });
    const batch = await post([{ jsonrpc: "2.0", id: "b", method: "tools/list" }, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "x" } }, { jsonrpc: "2.0", id: "a", method: "ping" }]);
    assert.equal(batch.status, 400);
    assert.deepEqual([(body(batch) as Msg).id, (body(batch) as Msg).error?.code], [null, -32600]);
    const note = await post({ jsonrpc: "2.0", method: "notifications/initialized" });
    assert.equal(note.status, 202);
    assert.equal(note.text, "");
  });

  it("refuses what the SDK's transport refuses, with the same status and JSON-RPC code", async () => {
    const cases: [string, Promise<RawResponse>, number, number][] = [
      ["Accept without text/event-stream", post({ jsonrpc: "2.0", id: 1, method: "ping" }, { accept: "application/json" }), 406, -32000],
      ["Content-Type text/plain", post({ jsonrpc: "2.0", id: 1, method: "ping" }, { "content-type": "text/plain" }), 415, -32000],
      ["JSON, but not JSON-RPC", post({ hello: "world" }), 400, -32600],
      ["not JSON", raw(gw.url, { headers: headers(), body: "{" }), 400, -32700],
      ["a second initialize", post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }), 400, -32600],
      ["an unsupported protocol version", post({ jsonrpc: "2.0", id: 1, method: "ping" }, { "mcp-protocol-version": "1999-01-01" }), 400, -32000],
      ["a batch", post([{ jsonrpc: "2.0", id: 9, method: "ping" }, { jsonrpc: "2.0", id: 10, method: "ping" }]), 400, -32600],
    ];
    for (const [name, pending, status, code] of cases) {
      const r = await pending;
      assert.equal(r.status, status, name);
      assert.equal((body(r) as Msg).error?.code, code, name);
    }
  });

  it("answers GET with 405 (nothing is ever streamed) and keeps serving", async () => {
    const get = await raw(gw.url, { method: "GET", headers: headers({ accept: "text/event-stream" }) });
    assert.equal(get.status, 405);
    assert.equal(get.headers["allow"], "POST, DELETE");
    assert.equal((await post({ jsonrpc: "2.0", id: 2, method: "ping" })).status, 200);
  });
});

describe("JsonResponseTransport.close", () => {
  it("answers a request still waiting with a JSON-RPC error, so nothing hangs", async () => {
    const transport = new JsonResponseTransport({ sessionIdGenerator: () => "s-1" });
    const server = new Server({ name: "t", version: "1" }, { capabilities: { tools: {} } });
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    server.setRequestHandler(CallToolRequestSchema, () => {
      entered();
      return new Promise(() => undefined); // never answers
    });
    await server.connect(transport);
    const http = createServer((req, res) => {
      void readJsonBody(req, 1 << 20).then((b) => transport.handleRequest(req, res, b.ok ? b.value : undefined));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
      const init = await raw(url, { headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }) });
      assert.equal(init.headers["mcp-session-id"], "s-1");
      const pending = raw(url, { headers: { ...MCP_HEADERS, "mcp-session-id": "s-1" }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "x", arguments: {} } }) });
      await inHandler;
      await transport.close();
      const r = await pending;
      assert.equal(r.status, 200);
      assert.deepEqual(body(r), { jsonrpc: "2.0", id: 2, error: { code: -32000, message: "Connection closed" } });
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });
});

describe("JsonResponseTransport on its own (no gateway in front)", () => {
  it("refuses a batch and JSON that is no message with -32600 itself, before initialize", async () => {
    const transport = new JsonResponseTransport({ sessionIdGenerator: () => "s-2" });
    const server = new Server({ name: "t", version: "1" }, { capabilities: { tools: {} } });
    await server.connect(transport);
    const http = createServer((req, res) => {
      void readJsonBody(req, 1 << 20).then((b) => transport.handleRequest(req, res, b.ok ? b.value : undefined));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
      for (const text of ["[]", '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', '{"jsonrpc":"2.0","id":null,"method":"initialize"}', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}', '{"jsonrpc":"1.0","id":1,"method":"ping"}']) {
        const r = await raw(url, { headers: MCP_HEADERS, body: text });
        assert.equal(r.status, 400, text);
        assert.deepEqual([(body(r) as Msg).id, (body(r) as Msg).error?.code], [null, -32600], text);
      }
      assert.equal(transport.sessionId, undefined, "nothing was initialized");
    } finally {
      http.closeAllConnections();
      http.close();
      await server.close();
    }
  });
});
