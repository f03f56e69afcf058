// Probes of the Streamable HTTP gateway's own guards. Each starts a real gateway on a free
// loopback port, over this runtime and the verifier it serves with, sends hostile requests
// over real HTTP (or raw bytes over a TCP socket), and closes it again; closing waits for the
// gateway's records, so the evidence is durable when the probe returns.
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { startHttpGateway, type HttpGateway, type HttpGatewayOptions } from "../gateway/http-gateway.js";
import { forgeToken } from "./forge-token.js";
import { requireTrust, trustedIssuerKey, type TrustedIssuerKey } from "./trust-keys.js";
import type { Probe, ProbeEnv, ProbeOutcome } from "./types.js";

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

function send(url: string, headers: Readonly<Record<string, string>>, body: unknown): Promise<Reply> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "content-length": String(Buffer.byteLength(text)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(text);
  });
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "cordon-prove", version: "1" } },
};
const LIST_TOOLS = { jsonrpc: "2.0", id: 2, method: "tools/list" };

type GatewayLimits = Omit<HttpGatewayOptions, "runtime" | "verifierFor" | "issuers" | "host" | "port">;

async function withGateway(env: ProbeEnv, body: (gw: HttpGateway) => Promise<ProbeOutcome>, limits: GatewayLimits = {}): Promise<ProbeOutcome> {
  const trust = requireTrust(env);
  const gw = await startHttpGateway({
    metrics: false,
    jsonResponse: true,
    ...limits,
    runtime: env.runtime,
    verifierFor: () => trust.verifier,
    issuers: [...new Set(trust.bundle.issuers.map((i) => i.issuer))],
    host: "127.0.0.1",
    port: 0,
  });
  try {
    return await body(gw);
  } finally {
    await gw.close();
  }
}

/** An access token of the trusted issuer for `subject`, in the policy's first role. */
function accessToken(env: ProbeEnv, key: TrustedIssuerKey, subject: string): string {
  const role = [...env.runtime.policy.roles.keys()][0];
  if (role === undefined) throw new Error("the policy has no role");
  const now = Math.floor(Date.now() / 1000);
  const { issuer } = key;
  const claims = {
    iss: issuer.issuer,
    aud: issuer.audience,
    sub: subject,
    [issuer.roleClaim]: role,
    ...(issuer.tenantClaim === null ? {} : { [issuer.tenantClaim]: "prove" }),
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
  };
  return forgeToken({ typ: "at+jwt", ...(key.kid === undefined ? {} : { kid: key.kid }) }, claims, { alg: key.alg, key: key.privateKey });
}

/** Opens an MCP session for `token`; returns its Mcp-Session-Id, or why it could not. */
async function openSession(gw: HttpGateway, token: string): Promise<{ id: string } | { failed: string }> {
  const reply = await send(gw.url, { authorization: `Bearer ${token}` }, INITIALIZE);
  const id = reply.headers["mcp-session-id"];
  return reply.status === 200 && typeof id === "string" ? { id } : { failed: `initialize answered ${reply.status}` };
}

function withIssuerKey(body: (env: ProbeEnv, key: TrustedIssuerKey) => Promise<ProbeOutcome>): Probe {
  return async (env) => {
    const found = await trustedIssuerKey(requireTrust(env));
    if (!found.ok) return { stopped: false, detail: found.unavailable, unavailable: found.unavailable };
    return body(env, found.value);
  };
}

export const gatewayNoToken: Probe = (env) =>
  withGateway(env, async (gw) => {
    const reply = await send(gw.url, {}, INITIALIZE);
    const challenge = reply.headers["www-authenticate"];
    const stopped = reply.status === 401 && typeof challenge === "string" && challenge.includes("resource_metadata=");
    return { stopped, detail: stopped ? `401 with WWW-Authenticate: ${challenge}` : `answered ${reply.status}` };
  });

export const gatewayForeignOrigin: Probe = (env) =>
  withGateway(env, async (gw) => {
    const reply = await send(gw.url, { origin: "https://attacker.example" }, INITIALIZE);
    const stopped = reply.status === 403;
    return { stopped, detail: stopped ? "403 for Origin https://attacker.example" : `answered ${reply.status}` };
  });

/** Mallory, validly signed in the same role, presents Alice's session id. */
export const gatewayForeignSession = withIssuerKey((env, key) =>
  withGateway(env, async (gw) => {
    const alice = await openSession(gw, accessToken(env, key, "prove-alice"));
    if ("failed" in alice) return { stopped: false, detail: `could not open the victim's session: ${alice.failed}` };
    const reply = await send(gw.url, { authorization: `Bearer ${accessToken(env, key, "prove-mallory")}`, "mcp-session-id": alice.id }, LIST_TOOLS);
    const stopped = reply.status === 404;
    return { stopped, detail: stopped ? "another principal's Mcp-Session-Id: 404 session not found" : `answered ${reply.status}` };
  }),
);

/** A principal over its session cap (1 here) is refused before a session is opened. */
export const gatewaySessionCap = withIssuerKey((env, key) =>
  withGateway(
    env,
    async (gw) => {
      const token = accessToken(env, key, "prove-greedy");
      const first = await openSession(gw, token);
      if ("failed" in first) return { stopped: false, detail: `could not open the first session: ${first.failed}` };
      const reply = await send(gw.url, { authorization: `Bearer ${token}` }, INITIALIZE);
      const stopped = reply.status === 429 && gw.sessionCount() === 1;
      return { stopped, detail: stopped ? "a second concurrent session over a cap of 1: 429" : `answered ${reply.status}; ${gw.sessionCount()} session(s) open` };
    },
    { maxSessionsPerPrincipal: 1 },
  ),
);

/** A raw TCP client: what the server sent, and whether the server closed the connection. */
interface Wire {
  readonly socket: Socket;
  received(): string;
  /** Settles when the socket closes (`byServer`: the server ended it), or after `giveUpMs` with the client still connected. */
  closed(giveUpMs: number): Promise<{ closed: boolean; byServer: boolean }>;
}

function openWire(port: number): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let text = "";
    let ended = false;
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("end", () => (ended = true));
    socket.on("error", () => undefined);
    const done = new Promise<{ closed: boolean; byServer: boolean }>((settle) => socket.once("close", () => settle({ closed: true, byServer: ended })));
    const closed = (giveUpMs: number) => {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<{ closed: boolean; byServer: boolean }>((settle) => (timer = setTimeout(() => settle({ closed: false, byServer: false }), giveUpMs)));
      return Promise.race([done, giveUp]).finally(() => clearTimeout(timer));
    };
    socket.once("connect", () => resolve({ socket, received: () => text, closed }));
    socket.once("error", reject);
  });
}

/** Sends `text` one byte every `everyMs` while the socket is open. */
function trickle(wire: Wire, text: string, everyMs: number): NodeJS.Timeout {
  let i = 0;
  return setInterval(() => {
    if (!wire.socket.destroyed && i < text.length) wire.socket.write(text[i++] ?? "");
  }, everyMs);
}

const statusLine = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

/** Short clocks for the probes (the defaults are seconds); the attack is the same at any scale. */
const PROBE_CLOCKS = { headersTimeoutMs: 400, requestTimeoutMs: 10_000, bodyIdleTimeoutMs: 400, bodyTimeoutMs: 5000 } as const;
/** Longer than any of those clocks, with room for a loaded machine: past it the client is still connected. */
const GIVE_UP_MS = 15_000;

/** Cut at the clock, by the server, with 408: what a stopped slow client looks like. */
async function cutAt(wire: Wire, timer: NodeJS.Timeout, what: string, clockMs: number): Promise<ProbeOutcome> {
  const closed = await wire.closed(GIVE_UP_MS);
  clearInterval(timer);
  wire.socket.destroy();
  const status = statusLine(wire.received());
  const stopped = closed.closed && closed.byServer && status === 408;
  if (stopped) return { stopped, detail: `${what}: the server answered 408 and closed the connection at its ${clockMs} ms clock` };
  return { stopped, detail: closed.closed ? `${what}: closed ${closed.byServer ? "by the server" : "by the client"} with status ${status || "none"}` : `${what}: still connected after ${GIVE_UP_MS} ms` };
}

/** Slowloris: request headers one byte every 50 ms, never finished; the header clock must cut it. */
export const gatewaySlowlorisHeaders: Probe = (env) =>
  withGateway(
    env,
    async (gw) => {
      const { port, host } = new URL(gw.url);
      const wire = await openWire(Number(port));
      const timer = trickle(wire, `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nX-Slowloris: ${"a".repeat(4096)}`, 50);
      return cutAt(wire, timer, "headers one byte at a time", PROBE_CLOCKS.headersTimeoutMs);
    },
    PROBE_CLOCKS,
  );

/** A valid, authenticated request whose body stops after a few bytes; the body clock must cut it. */
export const gatewaySlowBody = withIssuerKey((env, key) =>
  withGateway(
    env,
    async (gw) => {
      const { port, host } = new URL(gw.url);
      const body = JSON.stringify(INITIALIZE);
      const head = [
        "POST /mcp HTTP/1.1",
        `Host: ${host}`,
        `authorization: Bearer ${accessToken(env, key, "prove-slow-body")}`,
        "content-type: application/json",
        "accept: application/json, text/event-stream",
        `content-length: ${Buffer.byteLength(body)}`,
      ];
      const wire = await openWire(Number(port));
      wire.socket.write(`${head.join("\r\n")}\r\n\r\n${body.slice(0, 8)}`);
      // One byte now and then, slower than the body's idle clock allows.
      const timer = trickle(wire, body.slice(8), 1000);
      return cutAt(wire, timer, "a body that stalls", PROBE_CLOCKS.bodyIdleTimeoutMs);
    },
    PROBE_CLOCKS,
  ),
);

/** Three connections from one address under a per-address cap of 2: the third gets 429 and is closed. */
export const gatewayConnectionCap: Probe = (env) =>
  withGateway(
    env,
    async (gw) => {
      const port = Number(new URL(gw.url).port);
      const held = [await openWire(port), await openWire(port)];
      const extra = await openWire(port);
      try {
        const closed = await extra.closed(GIVE_UP_MS);
        const status = statusLine(extra.received());
        const stopped = closed.closed && closed.byServer && status === 429 && gw.connectionCount() === 2;
        return {
          stopped,
          detail: stopped
            ? "a third connection from 127.0.0.1 over a per-address cap of 2: 429, closed by the server"
            : `third connection: ${closed.closed ? `closed, status ${status || "none"}` : "still open"}; ${gw.connectionCount()} connection(s) held`,
        };
      } finally {
        for (const w of [...held, extra]) w.socket.destroy();
      }
    },
    { maxConnectionsPerAddress: 2, maxConnections: 16 },
  );
