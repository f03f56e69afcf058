// Test helpers for the gateway: an Ed25519 issuer that mints tokens, and a cell runtime over
// the example policy. Tokens here are test-only; nothing in them is a real credential.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { request, type IncomingHttpHeaders } from "node:http";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { AuditLog } from "../audit/index.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { parseTrustBundle } from "../artifacts/trust-bundle.js";
import { createTokenVerifier } from "../authn/verify-token.js";

export const TEST_ISSUER = "https://issuer.test.cordon.invalid";

export interface TestIssuer {
  readonly issuer: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  /** A signed token; `claims` override the defaults (sub, role, aud, iat, exp). */
  mint(claims: Record<string, unknown> & { aud?: string; role?: string }, opts?: { alg?: string; key?: KeyObject; typ?: string }): Promise<string>;
}

export function makeIssuer(issuer = TEST_ISSUER): TestIssuer {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    issuer,
    publicKey,
    privateKey,
    async mint(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const body: Record<string, unknown> = { sub: "agent-1", role: "analyst", iat: now, exp: now + 600, ...claims };
      const jwt = new SignJWT(body).setProtectedHeader({ alg: opts.alg ?? "EdDSA", typ: opts.typ ?? "at+jwt", kid: TEST_KID }).setIssuer(issuer);
      return jwt.sign(opts.key ?? privateKey);
    },
  };
}

const TEST_KID = "test-key-1";

/** A verifier factory for startHttpGateway: cordon's verifier over a one-issuer trust bundle. */
export function verifierFor(iss: TestIssuer, roles: readonly string[] = ["analyst", "operator"]) {
  return (audience: string) => {
    const jwk = { ...(iss.publicKey.export({ format: "jwk" }) as Record<string, unknown>), kid: TEST_KID, alg: "EdDSA", use: "sig" };
    const doc = {
      version: 1,
      issuers: [{ issuer: iss.issuer, audience, algorithms: ["EdDSA"], jwks: { keys: [jwk] }, roleClaim: "role", requireTyp: "at+jwt", maxTokenAgeSec: 86_400, clockSkewSec: 30 }],
      policySigners: [],
      moduleSigners: [],
    };
    return createTokenVerifier(parseTrustBundle(Buffer.from(JSON.stringify(doc))), { roles: new Set(roles) });
  };
}

export async function startCellRuntime(policyPath: string = EXAMPLE_POLICY): Promise<{ runtime: Runtime; audit: AuditLog }> {
  const audit = AuditLog.memory();
  const runtime = await Runtime.start({ policy: loadPolicy(policyPath), audit, isolation: "cell" });
  return { runtime, audit };
}

/** Writes `token` to a fresh owner-only file and returns its path. */
export function writeTokenFile(token: string, mode = 0o600): string {
  const path = join(mkdtempSync(join(tmpdir(), "cordon-token-")), "token");
  writeFileSync(path, `${token}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** JSON-RPC messages in the body, whether sent as JSON or as SSE `data:` lines. */
  readonly messages: unknown[];
}

/** One HTTP request with full control of headers (Host included) and body bytes. */
export function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? "POST", headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, messages: parseMessages(res.headers["content-type"] ?? "", text) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

function parseMessages(contentType: string, text: string): unknown[] {
  if (contentType.includes("text/event-stream")) {
    return text.split("\n").filter((l) => l.startsWith("data: ") && l.length > 6).map((l) => JSON.parse(l.slice(6)) as unknown);
  }
  if (contentType.includes("application/json") && text !== "") return [JSON.parse(text) as unknown];
  return [];
}

export const MCP_HEADERS = Object.freeze({ "content-type": "application/json", accept: "application/json, text/event-stream" });

/** Opens an MCP session with raw requests; returns its id. */
export async function openRawSession(url: string, token: string): Promise<string> {
  const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
  const r = await raw(url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify(init) });
  const sid = r.headers["mcp-session-id"];
  if (r.status !== 200 || typeof sid !== "string") throw new Error(`initialize failed: ${r.status} ${r.text}`);
  await raw(url, { headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  return sid;
}
