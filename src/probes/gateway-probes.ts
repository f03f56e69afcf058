// Probes of the Streamable HTTP gateway's own guards. Each starts a real gateway on a free
// loopback port, over this runtime and the verifier it serves with, sends hostile requests
// over real HTTP, and closes it again.
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { startHttpGateway, type HttpGateway } from "../gateway/http-gateway.js";
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

async function withGateway(env: ProbeEnv, body: (gw: HttpGateway) => Promise<ProbeOutcome>, maxSessionsPerPrincipal?: number): Promise<ProbeOutcome> {
  const trust = requireTrust(env);
  const gw = await startHttpGateway({
    runtime: env.runtime,
    verifierFor: () => trust.verifier,
    issuers: [...new Set(trust.bundle.issuers.map((i) => i.issuer))],
    host: "127.0.0.1",
    port: 0,
    metrics: false,
    jsonResponse: true,
    ...(maxSessionsPerPrincipal === undefined ? {} : { maxSessionsPerPrincipal }),
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
    1,
  ),
);
