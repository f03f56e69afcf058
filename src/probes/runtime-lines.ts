// The lines cordon itself holds, whatever the policy says: callers are verified, artifacts are
// signed, the gateway binds what it serves, the audit log and the runtime are tamper-evident.
// `cordon prove` appends them after the policy's lines. Pure: the registry in, lines out.
import { defaultEnforcerFor, probesFor, type Subject } from "../enforcers.js";
import type { PolicyLine } from "../policy/lines.js";

export type RuntimeScope = "identity" | "gateway" | "supply-chain" | "audit";

const RUNTIME_LINES: ReadonlyArray<readonly [RuntimeScope, Subject, string]> = [
  ["identity", "authn.token", "a caller's token is accepted only with a trusted signature, an allowed alg, a plain kid, the exact iss and aud, a valid exp/nbf, a lifetime within the issuer's maximum, only alg/typ/kid in its header and typ at+jwt"],
  ["gateway", "gateway.authn", "a request without a valid bearer token gets 401"],
  ["gateway", "gateway.origin", "a request from a foreign Host or Origin gets 403"],
  ["gateway", "gateway.session", "an Mcp-Session-Id serves only the principal that opened it"],
  ["gateway", "gateway.sessions", "concurrent sessions per principal are capped"],
  ["gateway", "gateway.connections", "a client too slow with its headers or body is cut at the timeout, and connections per address are capped"],
  ["supply-chain", "trust.bundle", "the trust bundle is used only as signed by the pinned root"],
  ["supply-chain", "artifact.signature", "the policy and its modules run only as signed, never an older policy, never swapped bytes"],
  ["supply-chain", "key.source", "keys come from cordon's data directory, never from the environment"],
  ["supply-chain", "runtime.lock", "a file of the locked runtime that differs from the signed lock is named and refused"],
  ["audit", "audit.chain", "an edited audit record breaks the hash chain"],
  ["audit", "audit.checkpoint", "a truncated or rewritten audit log contradicts its signed checkpoints"],
  ["audit", "audit.witness", "an audit log cut back together with its checkpoints contradicts the witness's cosignature; a forked checkpoint is refused by the witness"],
];

export function runtimeLines(): PolicyLine[] {
  return RUNTIME_LINES.map(([scope, subject, text]) => {
    const enforcer = defaultEnforcerFor(subject);
    return {
      text: `runtime ${scope}: ${text}`,
      scope: { kind: "runtime", name: scope },
      subject,
      tier: "control-plane",
      enforcer: enforcer.name,
      checks: probesFor(enforcer, subject),
      status: "enforced",
    };
  });
}
