// Bearer authentication at the edge. Every refusal leaves exactly one audit record (enforcer
// `authn-token`) holding the error code and a short digest of the token, never the token.
import { MAX_TOKEN_BYTES, tokenDigest } from "../authn/verify-token.js";
import type { AuditEvent, AuditRecord } from "../audit/index.js";
import { SECRET_FIELD_NAMES } from "../audit/index.js";
import { CordonError, type Json } from "../errors.js";
import type { Principal, TokenVerifier } from "../authn/principal.js";
import { TokenMissing, VerifierFailed } from "./errors.js";

export const AUTHN_ENFORCER = "authn-token";

/** Largest Authorization header looked at; a longer one is refused unread. */
/** A header longer than the largest token cordon accepts (plus "Bearer ") is not read at all. */
const MAX_HEADER_CHARS = MAX_TOKEN_BYTES + 16;

export interface AuditAppender {
  append(event: AuditEvent): Promise<AuditRecord>;
}

export type AuthnResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly error: CordonError; readonly code: string; readonly tokenGiven: boolean; readonly auditSeq: number | null };


/** The token in an `Authorization` header value, or why there is none. */
export function bearerToken(header: string | readonly string[] | undefined): { token: string } | { missing: TokenMissing } {
  if (header === undefined) return { missing: new TokenMissing("absent") };
  if (typeof header !== "string") return { missing: new TokenMissing("repeated") };
  const match = /^Bearer[ ]+([^ ]*)[ ]*$/i.exec(header.length > MAX_HEADER_CHARS ? "" : header);
  if (match === null) return { missing: new TokenMissing(header.length > MAX_HEADER_CHARS ? "unreadable" : "not-bearer") };
  const token = match[1] ?? "";
  return token === "" ? { missing: new TokenMissing("empty") } : { token };
}

/** The `WWW-Authenticate` value of a 401 (RFC 6750 §3, RFC 9728 §5.1). */
export function bearerChallenge(resourceMetadataUrl: string, failure?: { code: string; tokenGiven: boolean }): string {
  const params: string[] = [];
  if (failure?.tokenGiven === true) params.push(`error="invalid_token"`, `error_description="${failure.code}"`);
  params.push(`resource_metadata="${resourceMetadataUrl}"`);
  return `Bearer ${params.join(", ")}`;
}

/** Fields of a refusal that may enter the audit log: short scalars, never a secret-named one. */
function safeFields(err: CordonError): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(err.fields())) {
    if (SECRET_FIELD_NAMES.includes(k.toLowerCase()) || k === "code" || k === "type" || k === "enforcer") continue;
    if (typeof v === "number" || typeof v === "boolean" || v === null) out[k] = v;
    else if (typeof v === "string") out[k] = v.length <= 128 ? v : `${v.slice(0, 128)}…`;
  }
  return out;
}

export interface AuthenticateOptions {
  readonly verifier: TokenVerifier;
  readonly audit: AuditAppender;
  /** Extra fields for the record (e.g. `transport: "http"`). */
  readonly context?: Readonly<Record<string, string>>;
}

/**
 * Verifies the bearer token in `authorization`. On any failure (a verifier that throws
 * something other than ERR_AUTHN_* included: fail closed) records `authn.denied` once.
 */
export async function authenticate(authorization: string | readonly string[] | undefined, opts: AuthenticateOptions): Promise<AuthnResult> {
  const parsed = bearerToken(authorization);
  if ("missing" in parsed) return refuse(parsed.missing, null, opts);
  return authenticateToken(parsed.token, opts);
}

/** Verifies a token given directly (stdio's token file); records a refusal like `authenticate`. */
export async function authenticateToken(token: string, opts: AuthenticateOptions): Promise<AuthnResult> {
  if (token === "") return refuse(new TokenMissing("empty"), null, opts);
  try {
    return { ok: true, principal: await opts.verifier(token) };
  } catch (err) {
    return refuse(err, tokenDigest(token), opts);
  }
}

/** Records one refusal for an error raised by a verifier or by a later identity check. */
export async function refuse(err: unknown, tokenDigest: string | null, opts: Pick<AuthenticateOptions, "audit" | "context">): Promise<AuthnResult & { ok: false }> {
  const error = err instanceof CordonError && err.code.startsWith("ERR_AUTHN_") ? err : new VerifierFailed();
  const { code } = error;
  const fields = safeFields(error);
  const event: AuditEvent = { type: "authn.denied", enforcer: AUTHN_ENFORCER, ...opts.context, ...fields, code, tokenDigest };
  let auditSeq: number | null = null;
  try {
    auditSeq = (await opts.audit.append(event)).seq;
  } catch {
    // The request is refused whether or not its record could be written.
    auditSeq = await opts.audit.append({ type: "authn.denied", enforcer: AUTHN_ENFORCER, code, tokenDigest }).then((r) => r.seq, () => null);
  }
  return { ok: false, error, code, tokenGiven: tokenDigest !== null, auditSeq };
}
