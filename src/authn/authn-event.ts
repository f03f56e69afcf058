// The audit event for a refused token: its code and structured fields (the token's digest,
// never the token). The gateway appends it; the enforcer name is the token verifier's.
import type { AuditEvent } from "../audit/index.js";
import type { AuthnError } from "./errors.js";

export const TOKEN_VERIFIER_ENFORCER = "authn-token";

export function authnDeniedEvent(err: AuthnError): AuditEvent {
  return { type: "authn.denied", enforcer: TOKEN_VERIFIER_ENFORCER, code: err.code, ...err.fields() };
}
