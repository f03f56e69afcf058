// Audit records as OpenTelemetry log records, in OTLP/JSON: each output line is one
// ExportLogsServiceRequest (the shape the Collector's otlpjsonfile receiver reads). Each record's
// chain position and hash are attributes (cordon.audit.seq, .hash, .prev); its fields follow as
// cordon.<name>, secret-shaped ones scrubbed. Pure.
import type { AuditRecord } from "../audit/index.js";
import type { Json } from "../errors.js";
import { classifyRecord, formatDenial } from "../gateway/classify-record.js";
import { scrub } from "./redact.js";

type AnyValue =
  | { readonly stringValue: string }
  | { readonly boolValue: boolean }
  | { readonly intValue: string }
  | { readonly doubleValue: number }
  | { readonly arrayValue: { readonly values: AnyValue[] } }
  | { readonly kvlistValue: { readonly values: KeyValue[] } };
interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

export function anyValue(v: Json): AnyValue {
  if (v === null) return { stringValue: "" };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return { kvlistValue: { values: Object.entries(v).map(([key, value]) => ({ key, value: anyValue(value) })) } };
}

const CHAIN_FIELDS = new Set(["seq", "time", "hash", "prev", "type"]);

/** One OTLP LogRecord for one record. */
export function toOtelLogRecord(record: AuditRecord, observedMs: number): Record<string, unknown> {
  const kind = classifyRecord(record);
  const rest: Record<string, Json> = {};
  for (const [k, v] of Object.entries(record)) if (!CHAIN_FIELDS.has(k)) rest[k] = v;
  const { value, redacted } = scrub(rest);
  const attributes: KeyValue[] = [
    { key: "event.name", value: { stringValue: record.type } },
    { key: "cordon.audit.seq", value: { intValue: String(record.seq) } },
    { key: "cordon.audit.hash", value: { stringValue: record.hash } },
    { key: "cordon.audit.prev", value: { stringValue: record.prev } },
    ...Object.entries(value as Record<string, Json>).map(([k, v]) => ({ key: `cordon.${k}`, value: anyValue(v) })),
  ];
  if (redacted.length > 0) attributes.push({ key: "cordon.redacted", value: anyValue([...redacted]) });
  const timeMs = Date.parse(record.time);
  return {
    timeUnixNano: `${BigInt(timeMs) * 1_000_000n}`,
    observedTimeUnixNano: `${BigInt(Math.floor(observedMs)) * 1_000_000n}`,
    // 13 WARN for a denial or a limit hit, 9 INFO otherwise.
    severityNumber: kind === "other" ? 9 : 13,
    severityText: kind === "other" ? "INFO" : "WARN",
    eventName: record.type,
    body: { stringValue: scrub(kind === "other" ? record.type : formatDenial(record)).value as string },
    attributes,
  };
}

/** One ExportLogsServiceRequest holding these records. */
export function toOtlpRequest(records: readonly AuditRecord[], product: { readonly version: string }, observedMs: number): Record<string, unknown> {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "cordon" } }, { key: "service.version", value: { stringValue: product.version } }] },
        scopeLogs: [{ scope: { name: "cordon.audit", version: product.version }, logRecords: records.map((r) => toOtelLogRecord(r, observedMs)) }],
      },
    ],
  };
}
