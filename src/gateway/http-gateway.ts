// The Streamable HTTP gateway: an OAuth 2.1 resource server in front of cordon sessions.
// Before any request: the connection caps and the header clock (connection-guard.ts). Order of
// checks on every request: Host/Origin (DNS rebinding), then the bearer token, then the session
// binding, then the body cap and clocks, then the JSON-RPC shape (one message, never a batch);
// only then does the MCP SDK (or cordon's JSON transport) see the request.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Server as McpServer } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { AuditEvent } from "../audit/index.js";
import { CordonError, UsageError, type Json } from "../errors.js";
import type { Principal, TokenVerifier } from "../authn/principal.js";
import { ENFORCERS } from "../policy/enforcers.js";
import { clip, errorFields } from "../audit/fields.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Session } from "../runtime/session.js";
import { authenticate, bearerChallenge } from "./authenticate.js";
import { CONNECTION_REASONS, ConnectionGuard } from "./connection-guard.js";
import { connectionLimits, type ConnectionLimitOptions } from "./connection-limits.js";
import { SessionBindingViolated } from "./errors.js";
import { InFlight } from "./in-flight.js";
import { JsonResponseTransport } from "./json-transport.js";
import { INVALID_REQUEST, inspectMessage } from "./jsonrpc-message.js";
import { Metrics } from "./metrics.js";
import { checkOrigin, defaultOriginPolicy, ORIGIN_ENFORCER } from "./origin-check.js";
import { metadataPaths, protectedResourceMetadata, WELL_KNOWN } from "./protected-resource.js";
import { readJsonBody } from "./read-body.js";
import { createSessionServer } from "./session-server.js";
import { principalKey, SessionTable } from "./session-table.js";
import { DEFAULT_TOKEN_CACHE_MS, rememberVerified } from "./verified-tokens.js";

export const SESSION_BINDING_ENFORCER = "session-binding";
export const SESSION_LIMITS_ENFORCER = "session-limits";

/** What the gateway needs of a Runtime. */
export type GatewayRuntime = Pick<Runtime, "openSession" | "closeSession" | "policy" | "record" | "audit">;

/** Everything here has a safe default; the connection limits' are in connection-limits.ts. */
export interface HttpGatewayOptions extends ConnectionLimitOptions {
  readonly runtime: GatewayRuntime;
  /**
   * Builds the token verifier once the server knows its canonical resource URI, which is the
   * audience every token must carry (e.g. `http://127.0.0.1:8787/mcp`).
   */
  readonly verifierFor: (resource: string) => TokenVerifier;
  /** Trusted issuers, published as `authorization_servers`. */
  readonly issuers: readonly string[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8787; 0 picks a free port. */
  readonly port?: number;
  /** The origin clients reach this server at, if not http://host:port (behind a TLS proxy). */
  readonly publicOrigin?: string;
  /** Extra Host names and Origins accepted besides this server's own (and loopback's, when bound there). */
  readonly allowedHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
  /** Largest request body read (default 1 MiB); larger gets 413. */
  readonly maxBodyBytes?: number;
  /** Concurrent MCP sessions per principal (default 8) and in total (default 256). */
  readonly maxSessionsPerPrincipal?: number;
  readonly maxSessions?: number;
  /**
   * Answer with single JSON responses instead of SSE streams, through cordon's own JSON
   * transport (json-transport.ts); GET then gets 405, as nothing is ever streamed.
   */
  readonly jsonResponse?: boolean;
  /** Serve /metrics (default true). */
  readonly metrics?: boolean;
  /** How often ended cordon sessions are swept out of the table (default 1000 ms). */
  readonly sweepMs?: number;
  /**
   * How long an accepted token is reused without a new signature check (default 10 s, never
   * past its expiry; 0: verify every request). Refused tokens are verified every time.
   */
  readonly tokenCacheMs?: number;
}

export interface HttpGateway {
  /** The MCP endpoint, which is also the resource URI (token audience). */
  readonly url: string;
  readonly metadataUrl: string;
  readonly metrics: Metrics | null;
  /** Open MCP sessions. */
  sessionCount(): number;
  /** Open HTTP connections (those admitted under the connection caps). */
  connectionCount(): number;
  close(): Promise<void>;
}

/** Either transport: the SDK's (SSE or JSON answers) or cordon's JSON-only one. */
type HttpTransport = Transport & { handleRequest(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void> };

interface Binding {
  readonly owner: string;
  readonly session: Session;
  readonly server: McpServer;
  readonly transport: HttpTransport;
  /** POSTs whose answers are not yet written: the server closes only once they are. */
  readonly inflight: InFlight;
}

const MCP_METHODS = "GET, POST, DELETE";

export async function startHttpGateway(opts: HttpGatewayOptions): Promise<HttpGateway> {
  const { runtime } = opts;
  const host = opts.host ?? "127.0.0.1";
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const table = new SessionTable<Binding>(opts.maxSessionsPerPrincipal ?? 8, opts.maxSessions ?? 256);
  const limits = connectionLimits(opts);
  const metrics = opts.metrics === false ? null : Metrics.attach(runtime.audit, { enforcers: gatewayEnforcers(), connectionReasons: CONNECTION_REASONS });

  if ((host === "0.0.0.0" || host === "::") && opts.publicOrigin === undefined) {
    // The resource URI (token audience) and the Host allowlist need a name clients actually use.
    throw new UsageError(`listening on all interfaces (${host}) needs publicOrigin, the URL clients reach this server at`);
  }
  const http = createServer({ maxHeaderSize: 16 * 1024, ...ConnectionGuard.serverOptions(limits) });
  const guard = new ConnectionGuard({ limits, record: (event) => runtime.record(event) });
  guard.attach(http);
  const bodyTimeouts = { idleMs: limits.bodyIdleTimeoutMs, totalMs: limits.bodyTimeoutMs };
  await listen(http, host, opts.port ?? 8787).catch((err: unknown) => {
    metrics?.detach();
    throw err;
  });
  const address = http.address() as AddressInfo;
  const origin = new URL(opts.publicOrigin ?? `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`).origin;
  const resource = new URL("/mcp", origin);
  const metadataUrl = `${origin}${WELL_KNOWN}`;
  const metadataBody = JSON.stringify(protectedResourceMetadata(resource.href, opts.issuers));
  const metaPaths = new Set(metadataPaths(resource));
  const originPolicy = defaultOriginPolicy(host, new URL(origin), { hosts: opts.allowedHosts ?? [], origins: opts.allowedOrigins ?? [] });
  const verifier = rememberVerified(opts.verifierFor(resource.href), { ttlMs: opts.tokenCacheMs ?? DEFAULT_TOKEN_CACHE_MS });
  const audit = { append: (event: AuditEvent) => runtime.record(event) };

  /** MCP servers waiting for their in-flight answers before they close. */
  const closing = new Set<Promise<void>>();

  /**
   * Takes a session out of the table (its id gets 404 from now on) and ends its cordon
   * session; its MCP server closes once every request still in flight has its answer (a call
   * on an ended session answers at once, with ERR_SESSION_EXPIRED or the cell's exit).
   */
  const closeBinding = async (id: string | undefined): Promise<void> => {
    const b = id === undefined ? undefined : table.take(id);
    if (b === undefined) return;
    await runtime.closeSession(b.session).catch(() => undefined);
    const closed: Promise<void> = b.inflight
      .drained()
      .then(() => b.server.close())
      .catch(() => undefined)
      .finally(() => closing.delete(closed));
    closing.add(closed);
  };

  const sweeper = setInterval(() => {
    for (const id of table.ids()) if (table.get(id)?.session.ended === true) void closeBinding(id);
  }, opts.sweepMs ?? 1000);
  sweeper.unref();

  async function openBinding(req: IncomingMessage, res: ServerResponse, principal: Principal, body: unknown): Promise<void> {
    const owner = principalKey(principal);
    const exhausted = table.reserve(owner);
    if (exhausted !== null) {
      await runtime.record({ type: "session.denied", enforcer: SESSION_LIMITS_ENFORCER, ...errorFields(exhausted), role: principal.role, tokenDigest: principal.tokenDigest }).catch(() => undefined);
      sendRpcError(res, 429, -32000, "Too many sessions", exhausted.code, { "retry-after": "5" });
      return;
    }
    let session: Session;
    try {
      session = await runtime.openSession(principal.role, principal);
    } catch (err) {
      table.release(owner);
      if (!(err instanceof CordonError)) throw err;
      // openSession has recorded the refusal (an unknown role, a refused module).
      if (err.code === "ERR_ROLE_NOT_FOUND") sendRpcError(res, 403, -32000, "Forbidden: no such role", err.code);
      else sendRpcError(res, 503, -32000, "Session could not be opened", err.code);
      return;
    }
    const server = createSessionServer({ session, policy: runtime.policy, streamsNotifications: !(opts.jsonResponse ?? false) });
    const inflight = new InFlight();
    const lifecycle = {
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id: string): void => table.bind(id, { owner, session, server, transport, inflight }),
      // DELETE: the transport closes when this returns, so wait for the answers in flight.
      onsessionclosed: async (id: string) => {
        await closeBinding(id);
        await inflight.drained();
      },
    };
    const transport: HttpTransport = opts.jsonResponse === true ? new JsonResponseTransport(lifecycle) : new StreamableHTTPServerTransport(lifecycle);
    server.onclose = () => void closeBinding(transport.sessionId);
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      if (transport.sessionId === undefined || table.get(transport.sessionId)?.session !== session) {
        // The initialize request failed: nothing was bound, so nothing else will end this session.
        table.release(owner);
        await runtime.closeSession(session).catch(() => undefined);
        await server.close().catch(() => undefined);
      }
    }
  }

  /**
   * The body as one JSON-RPC message, or null once the refusal is sent: 413 over the cap, 408
   * (and the connection closed) past a body clock, 400 with -32700 for bytes that are not JSON,
   * 400 with -32600 Invalid Request (id null) for JSON that is not one message, a batch included.
   * Both HTTP transports see only what passed, so they answer all of this identically.
   */
  async function readMessage(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | null> {
    const body = await readJsonBody(req, maxBody, bodyTimeouts);
    if (!body.ok) {
      if (body.status === 408) guard.bodyTimedOut(req, body.phase, body.timeoutMs);
      else sendBodyError(res, body);
      return null;
    }
    if (!inspectMessage(body.value).ok) {
      sendRpcError(res, 400, INVALID_REQUEST, "Invalid Request", "ERR_GATEWAY_INVALID_REQUEST");
      return null;
    }
    return { value: body.value };
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "";
    if (method !== "GET" && method !== "POST" && method !== "DELETE") {
      sendRpcError(res, 405, -32000, "Method not allowed", "ERR_GATEWAY_METHOD", { allow: MCP_METHODS });
      return;
    }
    const auth = await authenticate(req.headers.authorization, { verifier, audit, context: { transport: "http" } });
    if (!auth.ok) {
      sendRpcError(res, 401, -32000, "Unauthorized", auth.code, { "www-authenticate": bearerChallenge(metadataUrl, auth) });
      return;
    }
    const { principal } = auth;
    const sid = req.headers["mcp-session-id"];
    if (typeof sid === "string") {
      const b = table.get(sid);
      if (b !== undefined && b.owner !== principalKey(principal)) {
        const error = new SessionBindingViolated();
        await runtime.record({
          type: "session.denied",
          enforcer: SESSION_BINDING_ENFORCER,
          ...errorFields(error),
          session: b.session.id,
          role: principal.role,
          subject: clip(principal.subject),
          issuer: clip(principal.issuer),
          tokenDigest: principal.tokenDigest,
        });
      }
      if (b === undefined || b.owner !== principalKey(principal) || b.session.ended) {
        // Unknown, ended and someone else's session ids get the same answer: no oracle.
        if (b?.session.ended === true && b.owner === principalKey(principal)) await closeBinding(sid);
        sendRpcError(res, 404, -32001, "Session not found", "ERR_GATEWAY_SESSION_NOT_FOUND");
        return;
      }
      if (method === "POST") {
        const body = await readMessage(req, res);
        if (body === null) return;
        // Counted out when the answer is written or the connection drops, whichever is first.
        res.once("close", b.inflight.enter());
        await b.transport.handleRequest(req, res, body.value);
      } else {
        await b.transport.handleRequest(req, res);
      }
      return;
    }
    if (method !== "POST") {
      sendRpcError(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required", "ERR_GATEWAY_SESSION_REQUIRED");
      return;
    }
    const body = await readMessage(req, res);
    if (body === null) return;
    if (!isInitializeRequest(body.value)) {
      sendRpcError(res, 400, -32000, "Bad Request: No valid session ID provided", "ERR_GATEWAY_SESSION_REQUIRED");
      return;
    }
    await openBinding(req, res, principal, body.value);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const refused = checkOrigin(req.headers.host, req.headers.origin, originPolicy);
    if (refused !== null) {
      await runtime.record({ type: "request.denied", enforcer: ORIGIN_ENFORCER, ...errorFields(refused), path: clip(path) }).catch(() => undefined);
      sendRpcError(res, 403, -32000, "Forbidden: Host or Origin not allowed", refused.code);
      return;
    }
    if (path === resource.pathname) return handleMcp(req, res);
    if (metaPaths.has(path)) {
      if (req.method !== "GET" && req.method !== "HEAD") return sendRpcError(res, 405, -32000, "Method not allowed", "ERR_GATEWAY_METHOD", { allow: "GET" });
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=300" }).end(metadataBody);
      return;
    }
    if (path === "/metrics" && metrics !== null) {
      if (req.method !== "GET") return sendRpcError(res, 405, -32000, "Method not allowed", "ERR_GATEWAY_METHOD", { allow: "GET" });
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(metrics.render());
      return;
    }
    sendRpcError(res, 404, -32000, "Not found", "ERR_GATEWAY_NOT_FOUND");
  }

  http.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // A connection refused at a cap has had its answer; nothing it sends is served.
    if (guard.isRefused(req.socket)) return;
    guard.track(req, res);
    handle(req, res).catch(() => {
      // Never crash the gateway, and never show an internal error's message.
      if (!res.headersSent) sendRpcError(res, 500, -32603, "Internal error", "ERR_INTERNAL");
      else res.destroy();
    });
  });

  return {
    url: resource.href,
    metadataUrl,
    metrics,
    sessionCount: () => table.size,
    connectionCount: () => guard.connections,
    async close() {
      clearInterval(sweeper);
      await Promise.all(table.ids().map((id) => closeBinding(id)));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      // Refusals' records (and the throttle's summaries) are durable before close returns.
      await guard.close();
      metrics?.detach();
      // Dropped connections count their requests out, so every waiting server closes now.
      await Promise.all([...closing]);
    },
  };
}

/** Enforcers whose denial counters start at zero: the registry (the gateway's own included). */
function gatewayEnforcers(): string[] {
  return ENFORCERS.map((e) => e.name);
}

function listen(http: HttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => {
      http.off("error", reject);
      resolve();
    });
  });
}

function sendBodyError(res: ServerResponse, body: { status: 413 | 400; rpcCode: number; message: string }): void {
  sendRpcError(res, body.status, body.rpcCode, body.message, body.status === 413 ? "ERR_GATEWAY_BODY_TOO_LARGE" : "ERR_GATEWAY_PARSE", body.status === 413 ? { connection: "close" } : {});
}

/** A JSON-RPC error with no id (the request's id is not trusted or not known here). */
function sendRpcError(res: ServerResponse, status: number, rpcCode: number, message: string, code: string, headers: Record<string, string> = {}): void {
  const data: Json = { code };
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: rpcCode, message, data }, id: null }));
}
