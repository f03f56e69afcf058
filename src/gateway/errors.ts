// Failures at the gateway: the edge where MCP clients meet cordon. Codes are stable; fields
// never carry a token, only its short digest where one is known.
import { CordonError, type Json } from "../errors.js";
import { AuthnError } from "../authn/errors.js";

export type TokenAbsence = "absent" | "not-bearer" | "empty" | "repeated" | "unreadable";

/** No usable bearer token came with the request (none, another scheme, empty, or several). */
export class TokenMissing extends AuthnError {
  readonly code = "ERR_AUTHN_TOKEN_MISSING";
  readonly tokenDigest = "";
  constructor(readonly reason: TokenAbsence) {
    super(`no bearer token (${reason})`, "send 'Authorization: Bearer <token>' with a token from your issuer");
  }
  fields(): Record<string, Json> {
    return { reason: this.reason };
  }
}

/** The token is valid, but for another role than the one this process serves (stdio). */
export class RoleMismatch extends AuthnError {
  readonly code = "ERR_AUTHN_ROLE_MISMATCH";
  constructor(readonly expected: string, readonly actual: string, readonly tokenDigest = "") {
    super(`token is for role ${JSON.stringify(actual)}, this server serves ${JSON.stringify(expected)}`,
      "use a token minted for the role given by --role");
  }
  fields(): Record<string, Json> {
    return { expected: this.expected, actual: this.actual, tokenDigest: this.tokenDigest };
  }
}

/** The verifier failed with something other than an authentication error (fail closed). */
export class VerifierFailed extends AuthnError {
  readonly code = "ERR_AUTHN_VERIFIER_FAILED";
  constructor(readonly tokenDigest = "") {
    super("the token verifier failed; the token is refused");
  }
  fields(): Record<string, Json> {
    return {};
  }
}

/** A Host or Origin header outside the allowlist (DNS rebinding, cross-site requests). */
export class OriginRefused extends CordonError {
  readonly code = "ERR_GATEWAY_ORIGIN_REFUSED";
  constructor(readonly header: "host" | "origin", readonly value: string) {
    super(`${header} ${JSON.stringify(value)} is not allowed`, "add it to the gateway's allowed hosts/origins if it is yours");
  }
  fields(): Record<string, Json> {
    return { header: this.header, value: this.value };
  }
}

/** A session id presented by another principal than the one that opened it. */
export class SessionBindingViolated extends CordonError {
  readonly code = "ERR_GATEWAY_SESSION_BINDING";
  constructor() {
    super("session belongs to another principal");
  }
  fields(): Record<string, Json> {
    return {};
  }
}

/** The principal (or the whole gateway) already holds the maximum number of sessions. */
export class SessionsExhausted extends CordonError {
  readonly code = "ERR_GATEWAY_SESSIONS_EXHAUSTED";
  constructor(readonly scope: "principal" | "gateway", readonly max: number) {
    super(`at most ${max} concurrent sessions per ${scope}`, "close a session (HTTP DELETE) or wait for an idle one to end");
  }
  fields(): Record<string, Json> {
    return { scope: this.scope, max: this.max };
  }
}

/** A token file that must not be used: missing, not a regular file, too large, or readable by others. */
export class TokenFileUnusable extends CordonError {
  readonly code = "ERR_GATEWAY_TOKEN_FILE_UNUSABLE";
  constructor(readonly path: string, readonly reason: string) {
    super(`token file ${path} cannot be used: ${reason}`, "keep the token in a regular file only its owner can read (chmod 600)");
  }
  fields(): Record<string, Json> {
    return { path: this.path, reason: this.reason };
  }
}

/** Which connection cap a new connection met: its own address's (or IPv6 /64's), or the gateway's. */
export type ConnectionScope = "address" | "gateway";

/**
 * A connection over a cap: refused as it opens (429 for one address over its share, 503 for
 * the whole gateway), then closed. `address` is the remote address key (an IPv6 /64 prefix).
 */
export class ConnectionsExhausted extends CordonError {
  readonly code = "ERR_GATEWAY_CONNECTIONS_EXHAUSTED";
  constructor(readonly scope: ConnectionScope, readonly max: number, readonly address: string) {
    super(`at most ${max} concurrent connections ${scope === "address" ? "per remote address" : "in total"}`,
      scope === "address" ? "reuse keep-alive connections; behind a proxy raise maxConnectionsPerAddress" : "retry later; the operator can raise maxConnections");
  }
  fields(): Record<string, Json> {
    return { scope: this.scope, max: this.max, address: this.address };
  }
}

/**
 * The phase of a request a client was too slow in: headers not complete in time (slowloris),
 * the whole request not received in time, a body that stalled or took too long, or a
 * connection that stopped reading what it asked for.
 */
export type TimeoutPhase = "headers" | "request" | "body-idle" | "body-total" | "idle";

/** A connection cut because the client was too slow; 408 where a response could still be sent. */
export class RequestTimedOut extends CordonError {
  readonly code = "ERR_GATEWAY_REQUEST_TIMEOUT";
  constructor(readonly phase: TimeoutPhase, readonly timeoutMs: number, readonly address: string) {
    super(`the client was too slow (${phase}, ${timeoutMs} ms)`, "send the request at once; the timeouts are options of the HTTP gateway");
  }
  fields(): Record<string, Json> {
    return { phase: this.phase, timeoutMs: this.timeoutMs, address: this.address };
  }
}
