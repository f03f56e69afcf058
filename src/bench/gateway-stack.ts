// What every gateway benchmark phase stands on: a cell runtime over the benchmark policy with a
// Streamable HTTP gateway in front (JSON answers), a test issuer for its tokens, and the forked
// load generator's session handles.
import { generateKeyPairSync } from "node:crypto";
import type { AuditLog } from "../audit/index.js";
import { makeIssuer, verifierFor, type TestIssuer } from "../gateway/gateway.fixture.js";
import { startHttpGateway, type HttpGateway } from "../gateway/http-gateway.js";
import { Runtime, type Granularity } from "../runtime/runtime.js";
import type { LoadChild } from "./gateway-harness.js";
import type { GatewayPolicy } from "./gateway-policy.js";
import type { MixedPlan } from "./gateway-protocol.js";

export interface Stack {
  readonly runtime: Runtime;
  readonly gateway: HttpGateway;
  readonly issuer: TestIssuer;
  readonly audit: AuditLog;
  readonly granularity: Granularity;
}

const OPEN_TIMEOUT_MS = 90_000;

/** Starts the runtime (warm pool of 2 per role), then a JSON-answering gateway on a free port. */
export async function startStack(policy: GatewayPolicy, audit: AuditLog, granularity: Granularity): Promise<Stack> {
  const runtime = await Runtime.start({ policy: policy.policy, audit, isolation: "cell", poolSize: 2, granularity });
  try {
    await runtime.warm();
    const issuer = makeIssuer();
    const gateway = await startHttpGateway({ runtime, verifierFor: verifierFor(issuer), issuers: [issuer.issuer], port: 0, jsonResponse: true, maxSessionsPerPrincipal: 16, maxSessions: 512 });
    return { runtime, gateway, issuer, audit, granularity };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

export async function stopStack(stack: Stack): Promise<void> {
  await stack.gateway.close().catch(() => undefined);
  await stack.runtime.close();
}

export async function bearer(stack: Stack, role: string, sub: string, audience = stack.gateway.url): Promise<string> {
  return `Bearer ${await stack.issuer.mint({ aud: audience, role, sub })}`;
}

/** Opens `count` MCP sessions for one principal in the load generator; returns their handles. */
export async function openSessions(child: LoadChild, url: string, client: "raw" | "sdk", authorization: string, count: number): Promise<string[]> {
  const r = await child.ask<{ handles: string[] }>({ op: "open", url, client, authorization, count }, OPEN_TIMEOUT_MS);
  return r.handles;
}

/** Every way a request's token can be refused: each must get 401 and one authn.denied record. */
export async function badAuthorizations(stack: Stack): Promise<MixedPlan["badAuthorizations"]> {
  const { issuer, gateway } = stack;
  const now = Math.floor(Date.now() / 1000);
  const mint = async (claims: Record<string, unknown>, key?: ReturnType<typeof generateKeyPairSync>["privateKey"]) =>
    `Bearer ${await issuer.mint({ aud: gateway.url, role: "analyst", sub: "bench-bad", ...claims }, key === undefined ? {} : { key })}`;
  return [
    { kind: "absent", authorization: null },
    { kind: "not-a-jwt", authorization: "Bearer not-a-jwt" },
    { kind: "expired", authorization: await mint({ iat: now - 1200, exp: now - 600 }) },
    { kind: "wrong-audience", authorization: await mint({ aud: "http://127.0.0.1:9/mcp" }) },
    { kind: "foreign-key", authorization: await mint({}, generateKeyPairSync("ed25519").privateKey) },
    { kind: "unknown-role", authorization: await mint({ role: "root" }) },
  ];
}

/** This process's CPU time so far (user + system), in microseconds. */
export function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
