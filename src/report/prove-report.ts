// A prove run as one document: every row with the audit record that proves it, the host it ran
// on, the runtime lock, the policy's identity. Plain data; render-html.ts and render-markdown.ts
// turn it into pages, the CLI writes them.
import type { AuditRecord } from "../audit/index.js";
import type { LockRow } from "../lock/verify-lock.js";
import type { ProveRow } from "../probes/prove.js";
import type { HostFacts } from "./host-facts.js";

export interface ReportRow extends ProveRow {
  /** The record `auditSeq` names, as the log holds it (null when there is none). */
  readonly record: AuditRecord | null;
}

export interface ProveReport {
  readonly generatedAt: string;
  readonly policy: { readonly path: string; readonly sha256: string; readonly profile: string; readonly lines: number };
  readonly isolation: string;
  readonly host: HostFacts;
  readonly rows: readonly ReportRow[];
  /** One row per locked component; null when the lock was not checked (--no-strict). */
  readonly lock: readonly LockRow[] | null;
  readonly summary: { readonly proven: number; readonly total: number; readonly failed: number; readonly unavailable: number; readonly wishes: number; readonly ok: boolean };
}

export interface ReportInput {
  readonly now: Date;
  readonly policy: ProveReport["policy"];
  readonly isolation: string;
  readonly host: HostFacts;
  readonly rows: readonly ProveRow[];
  /** The records seen while prove ran, by seq. */
  readonly records: ReadonlyMap<number, AuditRecord>;
  readonly lock: readonly LockRow[] | null;
}

/** Pure: joins each row to its record and counts the outcome. */
export function buildProveReport(input: ReportInput): ProveReport {
  const rows = input.rows.map((r) => ({ ...r, record: r.auditSeq === null ? null : (input.records.get(r.auditSeq) ?? null) }));
  const count = (s: ProveRow["status"]) => rows.filter((r) => r.status === s).length;
  const proven = count("proven");
  const lockOk = input.lock === null || input.lock.every((l) => l.status === "ok");
  return Object.freeze({
    generatedAt: input.now.toISOString(),
    policy: input.policy,
    isolation: input.isolation,
    host: input.host,
    rows,
    lock: input.lock,
    summary: { proven, total: rows.length, failed: count("failed"), unavailable: count("unavailable"), wishes: count("wish"), ok: proven === rows.length && lockOk },
  });
}
