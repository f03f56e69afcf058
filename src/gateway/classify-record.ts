// What an audit record means for an operator watching the gateway: a denial (an enforcer
// stopped something), a limit hit, or neither. Shared by /metrics and `cordon watch`.
import type { AuditRecord } from "../audit/index.js";

export type RecordKind = "denial" | "limit" | "other";

/** A denial is any `*.denied` / `*.refused` record that names its enforcer. */
export function classifyRecord(record: Pick<AuditRecord, "type" | "enforcer">): RecordKind {
  if (record.type === "limit.exceeded") return "limit";
  if (record.enforcer === undefined) return "other";
  return record.type.endsWith(".denied") || record.type.endsWith(".refused") ? "denial" : "other";
}

/** How many events one record stands for (a cell reports repeated guest denials as one count). */
export function recordWeight(record: AuditRecord): number {
  const count = record["count"];
  return typeof count === "number" && Number.isSafeInteger(count) && count > 0 ? count : 1;
}

/** One line for a terminal: when, what, which enforcer, which code, and the ids to look it up. */
export function formatDenial(record: AuditRecord): string {
  const pick = (k: string) => {
    const v = record[k];
    return typeof v === "string" || typeof v === "number" ? `${k}=${String(v)}` : null;
  };
  const extra = ["code", "tool", "syscall", "role", "session", "tokenDigest", "header", "limit", "reason"].map(pick).filter((x) => x !== null);
  return [record.time, `seq=${record.seq}`, record.type, `enforcer=${record.enforcer ?? "-"}`, ...extra].join(" ");
}
