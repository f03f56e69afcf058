// The registry transport against tiny misbehaving servers on loopback: caps hold before a
// download completes, a redirect to another origin is never followed (the other host sees no
// connection), a registry that stalls ends at its deadline.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, test } from "node:test";
import { Transport } from "./http-transport.js";

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.closeAllConnections();
  for (const s of servers) s.close();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits += 1;
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`, hits: () => hits };
}

const fast = { headersMs: 300, idleMs: 300, totalMs: 3_000 };

void test("a Content-Length over the cap is refused before a byte of the body is read", async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { "content-length": String(8 * 1024 * 1024) });
    res.write(Buffer.alloc(64 * 1024));
  });
  const t = new Transport(fast);
  const res = await t.send({ method: "GET", url: new URL("/v2/x/blobs/a", s.url) });
  await assert.rejects(res.read({ what: "a blob", cap: 1024 * 1024 }), (err: { code: string; received: number; announced: number }) => err.code === "ERR_OCI_TOO_LARGE" && err.received === 0 && err.announced === 8 * 1024 * 1024);
  t.close();
});

void test("a body without a length that runs past the cap (or past its descriptor's size) is cut there", async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { "transfer-encoding": "chunked" });
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const pump = () => {
      while (sent < 64 && res.write(chunk)) sent++;
      if (sent < 64) res.once("drain", pump);
      else res.end();
    };
    pump();
  });
  const t = new Transport(fast);
  let seen = 0;
  const res = await t.send({ method: "GET", url: new URL("/b", s.url) });
  await assert.rejects(res.read({ what: "a blob", cap: 256 * 1024, onBytes: (n) => (seen = n) }), (err: { code: string; received: number }) => err.code === "ERR_OCI_TOO_LARGE" && err.received < 4 * 1024 * 1024);
  assert.ok(seen <= 256 * 1024, `bytes passed on before the cut: ${seen}`);
  const res2 = await t.send({ method: "GET", url: new URL("/b", s.url) });
  await assert.rejects(res2.read({ what: "a blob", cap: 64 * 1024 * 1024, expected: 100_000 }), { code: "ERR_OCI_TOO_LARGE" });
  t.close();
});

void test("a body shorter than its descriptor says is truncated, not accepted", async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { "content-length": "10" });
    res.end("0123456789");
  });
  const t = new Transport(fast);
  const res = await t.send({ method: "GET", url: new URL("/c", s.url) });
  await assert.rejects(res.read({ what: "a blob", cap: 1024, expected: 20 }), { code: "ERR_OCI_TRUNCATED" });
  t.close();
});

void test("a redirect within the registry's origin is followed; to another host or port it is refused and nothing reaches it", async () => {
  const other = await serve((_req, res) => res.end("leaked"));
  const s = await serve((req, res) => {
    if (req.url === "/same") return void res.writeHead(307, { location: "/target" }).end();
    if (req.url === "/target") return void res.end("ok");
    res.writeHead(307, { location: `${other.url.replace("127.0.0.1", "localhost")}/blob` }).end();
  });
  const t = new Transport(fast);
  const ok = await t.send({ method: "GET", url: new URL("/same", s.url), headers: { authorization: "Bearer secret" } });
  assert.equal((await ok.read({ what: "x", cap: 100 })).toString(), "ok");
  await assert.rejects(t.send({ method: "GET", url: new URL("/away", s.url), headers: { authorization: "Bearer secret" } }), (err: { code: string; to: string }) => err.code === "ERR_OCI_REDIRECT_REFUSED" && err.to.startsWith("http://localhost:"));
  assert.equal(other.hits(), 0);
  t.close();
});

void test("a registry that sends no answer, or stops mid-body, ends at its deadline", async () => {
  const silent = await serve(() => undefined);
  const t = new Transport(fast);
  await assert.rejects(t.send({ method: "GET", url: new URL("/v2/", silent.url) }), { code: "ERR_OCI_TIMEOUT", stage: "headers" });
  const stalls = await serve((_req, res) => {
    res.writeHead(200, { "content-length": "100" });
    res.write("0123456789");
  });
  const res = await t.send({ method: "GET", url: new URL("/d", stalls.url) });
  await assert.rejects(res.read({ what: "a blob", cap: 1000 }), { code: "ERR_OCI_TIMEOUT", stage: "body" });
  t.close();
});

void test("a refused connection is ERR_OCI_UNREACHABLE", async () => {
  const s = await serve(() => undefined);
  const url = new URL("/v2/", s.url);
  const closing = servers.pop();
  await new Promise<void>((resolve) => (closing === undefined ? resolve() : closing.close(() => resolve())));
  const t = new Transport(fast);
  await assert.rejects(t.send({ method: "GET", url }), { code: "ERR_OCI_UNREACHABLE" });
  t.close();
});
