// Malformed JSON-RPC over real HTTP: every request gets a spec error (or a tool error), the
// gateway keeps serving, and Object.prototype is exactly what it was.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { Runtime } from "../runtime/runtime.js";
import { makeIssuer, MCP_HEADERS, openRawSession, raw, startCellRuntime, verifierFor, type RawResponse } from "./gateway.fixture.js";
import { startHttpGateway, type HttpGateway } from "./http-gateway.js";
import { describeWithCells } from "../testing/host.js";

interface RpcError {
  readonly id?: unknown;
  readonly error?: { readonly code: number; readonly message: string };
  readonly result?: { readonly isError?: boolean; readonly content?: { text: string }[] };
}

function snapshotPrototype(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort().map((k) => `${k}:${typeof Object.getOwnPropertyDescriptor(Object.prototype, k)?.value}`);
}

function nested(depth: number, open: string, close: string, inner = "0"): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}

// Both transports: the SDK's (SSE answers, serve's default) and cordon's JSON-answer transport.
for (const jsonResponse of [false, true]) describeWithCells(`gateway robustness (${jsonResponse ? "JSON" : "SSE"} answers)`, () => {
  let runtime: Runtime;
  let gw: HttpGateway;
  let token: string;
  let sid: string;
  const prototypeBefore = snapshotPrototype();
  const post = (body: string | Buffer, extra: Record<string, string> = {}): Promise<RawResponse> =>
    raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18", ...extra }, body });
  /** The JSON-RPC response in a reply (an SSE stream may carry log notifications before it). */
  const first = (r: RawResponse): RpcError => r.messages.find((m): m is RpcError => typeof m === "object" && m !== null && ("result" in m || "error" in m)) ?? {};

  before(async () => {
    ({ runtime } = await startCellRuntime());
    const iss = makeIssuer();
    gw = await startHttpGateway({ runtime, verifierFor: verifierFor(iss), issuers: [iss.issuer], port: 0, jsonResponse });
    token = await iss.mint({ aud: gw.url });
    sid = await openRawSession(gw.url, token);
  });
  after(async () => {
    await gw.close();
    await runtime.close();
  });

  it("invalid JSON and invalid UTF-8 get 400 with -32700", async () => {
    for (const body of ["{", "", "nul", '{"jsonrpc":"2.0",', "\u0000", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]) {
      const r = await post(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(first(r).error?.code, -32700);
    }
  });

  it("10,000-deep nesting: as the body, as params, and as tool arguments", async () => {
    const deepArray = await post(nested(10_000, "[", "]"));
    assert.equal(deepArray.status, 400);
    const deepParams = await post(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":${nested(10_000, '{"a":', "}")}}}`);
    assert.ok(deepParams.status === 200 || deepParams.status === 400, String(deepParams.status));
    const deepArgs = await post(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"text-stats","arguments":{"text":${nested(10_000, "[", "]")}}}}`);
    assert.equal(deepArgs.status, 200);
    assert.equal(first(deepArgs).error?.code, -32602);
    assert.match(first(deepArgs).error?.message ?? "", /deeper than 64/);
    const deepObject = await post(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"text-stats","arguments":${nested(10_000, '{"a":', "}")}}}`);
    assert.equal(first(deepObject).error?.code, -32602);
    const deepNoSession = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: nested(10_000, '{"a":', "}") });
    assert.equal(deepNoSession.status, 400);
  });

  it("huge bodies get 413 before they are buffered; a large but allowed argument hits the tool's input limit", async () => {
    const huge = await post(Buffer.alloc(8 * 1024 * 1024, 0x5b));
    assert.equal(huge.status, 413);
    const declared = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, "content-length": String(64 * 1024 * 1024) }, body: Buffer.alloc(0) }).catch(() => null);
    if (declared !== null) assert.equal(declared.status, 413);
    const big = await post(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "text-stats", arguments: { text: "w ".repeat(400 * 1024) } } }));
    assert.equal(big.status, 200);
    assert.match(first(big).result?.content?.[0]?.text ?? "", /ERR_LIMIT_EXCEEDED/);
  });

  /** The answer to JSON that is not one JSON-RPC message: 400, -32600 Invalid Request, id null. */
  const assertInvalid = (r: RawResponse, label: string) => {
    assert.equal(r.status, 400, label);
    assert.equal(r.headers["content-type"], "application/json", label);
    const answer = first(r);
    assert.equal(answer.error?.code, -32600, `${label}: ${r.text}`);
    assert.equal(answer.id, null, label);
    assert.equal(r.messages.length, 1, label);
  };

  it("valid JSON that is not a JSON-RPC request gets 400 with -32600 Invalid Request and id null, never -32700", async () => {
    const cases: [string, string][] = [
      ["id null", '{"jsonrpc":"2.0","id":null,"method":"ping"}'],
      ["id an object", '{"jsonrpc":"2.0","id":{},"method":"ping"}'],
      ["id an object with members", '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}'],
      ["id an array", '{"jsonrpc":"2.0","id":[1],"method":"ping"}'],
      ["id a boolean", '{"jsonrpc":"2.0","id":true,"method":"ping"}'],
      ["id a float", '{"jsonrpc":"2.0","id":1.5,"method":"ping"}'],
      ["id a negative float", '{"jsonrpc":"2.0","id":-0.25,"method":"ping"}'],
      ["id 1e300", '{"jsonrpc":"2.0","id":1e300,"method":"ping"}'],
      ["id past 2^53", '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}'],
      ["jsonrpc 1.0", '{"jsonrpc":"1.0","id":1,"method":"ping"}'],
      ["jsonrpc a number", '{"jsonrpc":2.0,"id":1,"method":"ping"}'],
      ["no jsonrpc", '{"id":1,"method":"ping"}'],
      ["a numeric method", '{"jsonrpc":"2.0","id":1,"method":5}'],
      ["a null method", '{"jsonrpc":"2.0","id":1,"method":null}'],
      ["no method", '{"jsonrpc":"2.0","id":1}'],
      ["no method, no id", '{"jsonrpc":"2.0"}'],
      ["method and result", '{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}'],
      ["result and error", '{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}'],
      ["a result without id", '{"jsonrpc":"2.0","result":{}}'],
      ["params a string", '{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}'],
      ["an unknown member", '{"jsonrpc":"2.0","id":1,"method":"ping","extra":true}'],
      ["a string", '"ping"'],
      ["a number", "7"],
      ["null", "null"],
      ["true", "true"],
      ["an empty object", "{}"],
    ];
    for (const [label, body] of cases) assertInvalid(await post(body), label);
    // Without a session id, the shape is checked before the session requirement.
    const noSession = await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: '{"jsonrpc":"2.0","id":null,"method":"initialize"}' });
    assertInvalid(noSession, "initialize with id null, no session");
  });

  it("batches are not part of MCP 2025-06-18 and later: an empty batch, a batch of one and a batch of notifications are -32600", async () => {
    const cases: [string, string][] = [
      ["empty batch", "[]"],
      ["batch of one request", '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'],
      ["batch of notifications", '[{"jsonrpc":"2.0","method":"notifications/initialized"}]'],
      ["batch of answers", '[{"jsonrpc":"2.0","id":1,"result":{}}]'],
      ["nested empty batch", "[[]]"],
    ];
    for (const [label, body] of cases) assertInvalid(await post(body), label);
    const init = '[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}]';
    assertInvalid(await raw(gw.url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: init }), "batched initialize, no session");
  });

  it("notifications and a client's answers (no id, or result/error members) are accepted with 202 and no body", async () => {
    for (const body of [
      '{"jsonrpc":"2.0","method":"notifications/initialized"}',
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99,"reason":"gone"}}',
      '{"jsonrpc":"2.0","method":"notifications/unknown-to-cordon"}',
      '{"jsonrpc":"2.0","id":77,"result":{}}',
      '{"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"no"}}',
      '{"jsonrpc":"2.0","error":{"code":-1,"message":"no"}}',
    ]) {
      const r = await post(body);
      assert.equal(r.status, 202, body);
      assert.equal(r.text, "", body);
    }
  });

  it("integer and string ids, huge ones included, are echoed", async () => {
    for (const id of [-7, 0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, "x".repeat(100_000), "", "__proto__", "null"]) {
      const r = await post(JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }));
      assert.equal(r.status, 200, String(id).slice(0, 20));
      assert.equal(first(r).id, id);
      assert.deepEqual(first(r).result, {});
    }
  });

  it("methods named __proto__, constructor and friends are -32601, and pollution attempts stay inert", async () => {
    for (const method of ["__proto__", "constructor", "toString", "hasOwnProperty", "__defineGetter__", "prototype", "tools/__proto__", "valueOf"]) {
      const r = await post(JSON.stringify({ jsonrpc: "2.0", id: 5, method, params: {} }));
      assert.equal(r.status, 200, method);
      assert.equal(first(r).error?.code, -32601, method);
    }
    const pollute = '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"__proto__","arguments":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}},"__proto__":{"polluted":true}}}';
    const r = await post(pollute);
    assert.equal(r.status, 200);
    assert.equal(first(r).error?.code, -32602);
    // A "__proto__" argument key never becomes a prototype the tool input inherits from.
    const call = await post('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"text-stats","arguments":{"text":"a","__proto__":{"polluted":true}}}}');
    assert.equal(first(call).error, undefined);
    assert.ok(first(call).result !== undefined);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });

  it("a batch of 10,000 requests and a wrong content type are refused", async () => {
    const batch = await post(JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" }))));
    assertInvalid(batch, "batch of 10,000");
    const text = await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { "content-type": "text/plain" });
    assert.equal(text.status, 415);
  });

  it("still serves afterwards, and Object.prototype is unchanged", async () => {
    const r = await post(JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "text-stats", arguments: { text: "still here" } } }));
    assert.equal(r.status, 200);
    assert.match(first(r).result?.content?.[0]?.text ?? "", /"words":2/);
    assert.deepEqual(snapshotPrototype(), prototypeBefore);
  });
});
