// Verifies an audit log on disk (chain and, given keys, signed checkpoints) and records a
// refusal in another, live log: one record naming the enforcer that caught it, `audit-chain`
// for a broken chain (an edited, reordered or removed record), `audit-checkpoint` for a chain
// its signed checkpoints contradict (truncated, or rewritten as a whole), `audit-witness` for a
// log the witness's cosignature contradicts (cut back together with its checkpoints) or that
// no witness vouches for. Only the first failing check is recorded. The verdict itself is
// returned unchanged.
import { basename } from "node:path";
import type { AuditEvent, AuditRecord } from "./types.js";
import { WITNESS_ENFORCER } from "./witness-payload.js";
import { verifyAuditFile, type AuditFileVerdict, type VerifyAuditOptions } from "./verify-audit-file.js";

export const AUDIT_CHAIN_ENFORCER = "audit-chain";
export const AUDIT_CHECKPOINT_ENFORCER = "audit-checkpoint";
export const AUDIT_WITNESS_ENFORCER = WITNESS_ENFORCER;

/** The record for a failed verdict of the log at `path`, or null when nothing is wrong. Pure. */
export function auditRefusedEvent(path: string, verdict: AuditFileVerdict): AuditEvent | null {
  const log = basename(path);
  if (!verdict.ok) return { type: "audit.refused", enforcer: AUDIT_CHAIN_ENFORCER, log, code: "ERR_AUDIT_CHAIN_BROKEN", firstBadSeq: verdict.firstBadSeq, reason: verdict.reason };
  const cp = verdict.checkpoints;
  // Nested: a checkpoint error's fields may use names (seq) the log reserves for itself.
  if (cp !== undefined && !cp.ok) return { type: "audit.refused", enforcer: AUDIT_CHECKPOINT_ENFORCER, log, code: cp.error.code, fault: cp.error.fields() };
  const w = verdict.witness;
  if (w !== undefined && !w.ok) return { type: "audit.refused", enforcer: AUDIT_WITNESS_ENFORCER, log, code: w.error.code, fault: w.error.fields() };
  return null;
}

export async function verifyAuditFileAudited(
  path: string,
  options: VerifyAuditOptions,
  audit: { append(event: AuditEvent): Promise<AuditRecord> },
): Promise<AuditFileVerdict> {
  const verdict = await verifyAuditFile(path, options);
  const event = auditRefusedEvent(path, verdict);
  if (event !== null) await audit.append(event);
  return verdict;
}
