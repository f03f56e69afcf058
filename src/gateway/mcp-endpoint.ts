// The /mcp endpoint, in the order its checks run: the method, the bearer token (authn-token),
// the session id's binding to its principal (session-binding), the body's cap, clocks and
// JSON-RPC shape (one message, never a batch); only then does a transport see the request.
import type { IncomingMessage, ServerResponse } from "node:http";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { AuditEvent } from "../audit/index.js";
import { clip, errorFields } from "../audit/fields.js";
import type { TokenVerifier } from "../authn/principal.js";
import { authenticate, bearerChallenge } from "./authenticate.js";
import type { ConnectionGuard } from "./connection-guard.js";
import { SessionBindingViolated } from "./errors.js";
import { INVALID_REQUEST, inspectMessage } from "./jsonrpc-message.js";
import { readJsonBody } from "./read-body.js";
import { sendBodyError, sendRpcError } from "./rpc-error.js";
import type { GatewayRuntime, SessionBindings } from "./session-bindings.js";
import { principalKey } from "./session-table.js";

export const SESSION_BINDING_ENFORCER = "session-binding";

const MCP_METHODS = "GET, POST, DELETE";

export interface McpEndpoint {
  readonly runtime: GatewayRuntime;
  readonly bindings: SessionBindings;
  readonly verifier: TokenVerifier;
  readonly guard: ConnectionGuard;
  readonly metadataUrl: string;
  readonly maxBodyBytes: number;
  readonly bodyTimeouts: { readonly idleMs: number; readonly totalMs: number };
}

/**
 * The body as one JSON-RPC message, or null once the refusal is sent: 413 over the cap, 408
 * (and the connection closed) past a body clock, 400 with -32700 for bytes that are not JSON,
 * 400 with -32600 Invalid Request (id null) for JSON that is not one message, a batch included.
 * Both HTTP transports see only what passed, so they answer all of this identically.
 */
async function readMessage(e: McpEndpoint, req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | null> {
  const body = await readJsonBody(req, e.maxBodyBytes, e.bodyTimeouts);
  if (!body.ok) {
    if (body.status === 408) e.guard.bodyTimedOut(req, body.phase, body.timeoutMs);
    else sendBodyError(res, body);
    return null;
  }
  if (!inspectMessage(body.value).ok) {
    sendRpcError(res, 400, INVALID_REQUEST, "Invalid Request", "ERR_GATEWAY_INVALID_REQUEST");
    return null;
  }
  return { value: body.value };
}

export async function handleMcp(e: McpEndpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "";
  if (method !== "GET" && method !== "POST" && method !== "DELETE") {
    sendRpcError(res, 405, -32000, "Method not allowed", "ERR_GATEWAY_METHOD", { allow: MCP_METHODS });
    return;
  }
  const audit = { append: (event: AuditEvent) => e.runtime.record(event) };
  const auth = await authenticate(req.headers.authorization, { verifier: e.verifier, audit, context: { transport: "http" } });
  if (!auth.ok) {
    sendRpcError(res, 401, -32000, "Unauthorized", auth.code, { "www-authenticate": bearerChallenge(e.metadataUrl, auth) });
    return;
  }
  const { principal } = auth;
  const sid = req.headers["mcp-session-id"];
  if (typeof sid === "string") {
    const b = e.bindings.get(sid);
    if (b !== undefined && b.owner !== principalKey(principal)) {
      const error = new SessionBindingViolated();
      await e.runtime.record({
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
      if (b?.session.ended === true && b.owner === principalKey(principal)) await e.bindings.close(sid);
      sendRpcError(res, 404, -32001, "Session not found", "ERR_GATEWAY_SESSION_NOT_FOUND");
      return;
    }
    if (method === "POST") {
      const body = await readMessage(e, req, res);
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
  const body = await readMessage(e, req, res);
  if (body === null) return;
  if (!isInitializeRequest(body.value)) {
    sendRpcError(res, 400, -32000, "Bad Request: No valid session ID provided", "ERR_GATEWAY_SESSION_REQUIRED");
    return;
  }
  await e.bindings.open(req, res, principal, body.value);
}
