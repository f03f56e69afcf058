// The Streamable HTTP gateway: an OAuth 2.1 resource server in front of cordon sessions.
// Before any request: the connection caps and the header clock (connection-guard.ts). Order of
// checks on every request: Host/Origin (DNS rebinding), then the bearer token, then the session
// binding, then the body cap and clocks, then the JSON-RPC shape (one message, never a batch);
// only then does the MCP SDK (or cordon's JSON transport) see the request.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { clip, errorFields } from "../audit/fields.js";
import type { TokenVerifier } from "../authn/principal.js";
import { UsageError } from "../errors.js";
import { ENFORCERS } from "../enforcers.js";
import { CONNECTION_REASONS, ConnectionGuard } from "./connection-guard.js";
import { connectionLimits, type ConnectionLimitOptions } from "./connection-limits.js";
import { handleMcp, type McpEndpoint } from "./mcp-endpoint.js";
import { Metrics } from "./metrics.js";
import { checkOrigin, defaultOriginPolicy, ORIGIN_ENFORCER } from "./origin-check.js";
import { metadataPaths, protectedResourceMetadata, WELL_KNOWN } from "./protected-resource.js";
import { sendRpcError } from "./rpc-error.js";
import { SessionBindings, type GatewayRuntime } from "./session-bindings.js";
import { DEFAULT_TOKEN_CACHE_MS, rememberVerified } from "./verified-tokens.js";

export { SESSION_BINDING_ENFORCER } from "./mcp-endpoint.js";
export { SESSION_LIMITS_ENFORCER, type GatewayRuntime } from "./session-bindings.js";

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




export async function startHttpGateway(opts: HttpGatewayOptions): Promise<HttpGateway> {
  const { runtime } = opts;
  const host = opts.host ?? "127.0.0.1";
  const limits = connectionLimits(opts);
  const metrics = opts.metrics === false ? null : Metrics.attach(runtime.audit, { enforcers: gatewayEnforcers(), connectionReasons: CONNECTION_REASONS });

  if ((host === "0.0.0.0" || host === "::") && opts.publicOrigin === undefined) {
    // The resource URI (token audience) and the Host allowlist need a name clients actually use.
    throw new UsageError(`listening on all interfaces (${host}) needs publicOrigin, the URL clients reach this server at`);
  }
  const http = createServer({ maxHeaderSize: 16 * 1024, ...ConnectionGuard.serverOptions(limits) });
  const guard = new ConnectionGuard({ limits, record: (event) => runtime.record(event) });
  guard.attach(http);
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
  const bindings = new SessionBindings(runtime, {
    maxSessionsPerPrincipal: opts.maxSessionsPerPrincipal ?? 8,
    maxSessions: opts.maxSessions ?? 256,
    jsonResponse: opts.jsonResponse ?? false,
    sweepMs: opts.sweepMs ?? 1000,
  });
  const endpoint: McpEndpoint = {
    runtime,
    bindings,
    verifier: rememberVerified(opts.verifierFor(resource.href), { ttlMs: opts.tokenCacheMs ?? DEFAULT_TOKEN_CACHE_MS }),
    guard,
    metadataUrl,
    maxBodyBytes: opts.maxBodyBytes ?? 1024 * 1024,
    bodyTimeouts: { idleMs: limits.bodyIdleTimeoutMs, totalMs: limits.bodyTimeoutMs },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const refused = checkOrigin(req.headers.host, req.headers.origin, originPolicy);
    if (refused !== null) {
      await runtime.record({ type: "request.denied", enforcer: ORIGIN_ENFORCER, ...errorFields(refused), path: clip(path) }).catch(() => undefined);
      sendRpcError(res, 403, -32000, "Forbidden: Host or Origin not allowed", refused.code);
      return;
    }
    if (path === resource.pathname) return handleMcp(endpoint, req, res);
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
    sessionCount: () => bindings.size,
    connectionCount: () => guard.connections,
    async close() {
      await bindings.closeAll();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      // Refusals' records (and the throttle's summaries) are durable before close returns.
      await guard.close();
      metrics?.detach();
      // Dropped connections count their requests out, so every waiting server closes now.
      await bindings.drained();
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

