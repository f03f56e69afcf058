// An audit record as an OCSF 1.3 event (what SIEMs and OpenShell ingest). The class follows what
// the record is about: a token or session decision is Authentication (3002), a tool call, prompt,
// resource or sampling decision is API Activity (6003), any other denial or limit hit is a
// Detection Finding (2004) naming the enforcer, everything else is Application Lifecycle (6002).
// Denials carry the Security Control profile (action Denied, disposition Blocked). The chain
// position and the record hash stay: metadata.sequence, metadata.uid, unmapped.prev. Pure.
import type { AuditRecord } from "../audit/index.js";
import type { Json } from "../errors.js";
import { classifyRecord, formatDenial } from "../gateway/classify-record.js";
import { scrub } from "./redact.js";

export const OCSF_VERSION = "1.3.0";

interface OcsfClass {
  readonly classUid: number;
  readonly categoryUid: number;
  readonly activityId: number;
}

const SEVERITY = { informational: 1, medium: 3 } as const;

/** Which OCSF class and activity a record maps to. */
export function ocsfClassOf(record: Pick<AuditRecord, "type" | "enforcer">): OcsfClass {
  const [area = "", verb = ""] = record.type.split(".");
  const kind = classifyRecord(record);
  if (area === "authn" || area === "session") {
    // 1 Logon (a token accepted or refused, a session opened), 2 Logoff (a session ended).
    return { classUid: 3002, categoryUid: 3, activityId: verb === "closed" ? 2 : 1 };
  }
  if (area === "call" || area === "prompt" || area === "resource" || area === "sampling" || area === "request") {
    // API Activity: 2 Read for a read, 99 Other for the rest (a tool call is neither CRUD verb).
    return { classUid: 6003, categoryUid: 6, activityId: verb === "read" || verb === "served" ? 2 : 99 };
  }
  if (kind !== "other") return { classUid: 2004, categoryUid: 2, activityId: 1 };
  return { classUid: 6002, categoryUid: 6, activityId: verb === "loaded" || verb === "started" ? 3 : 99 };
}

const CHAIN_FIELDS = new Set(["seq", "time", "hash", "prev", "type", "enforcer", "code"]);

/** One OCSF event for one record. `product` names this build. */
export function toOcsf(record: AuditRecord, product: { readonly version: string }): Record<string, Json> {
  const cls = ocsfClassOf(record);
  const kind = classifyRecord(record);
  const blocked = kind !== "other" || record.type.endsWith(".failed");
  const rest: Record<string, Json> = {};
  for (const [k, v] of Object.entries(record)) if (!CHAIN_FIELDS.has(k)) rest[k] = v;
  const { value: unmapped, redacted } = scrub({ ...rest, prev: record.prev, cordon_type: record.type });
  const str = (k: string): string | undefined => {
    const v = record[k];
    return typeof v === "string" ? v : undefined;
  };
  const event: Record<string, Json> = {
    class_uid: cls.classUid,
    category_uid: cls.categoryUid,
    activity_id: cls.activityId,
    type_uid: cls.classUid * 100 + cls.activityId,
    time: Date.parse(record.time),
    severity_id: kind === "other" ? SEVERITY.informational : SEVERITY.medium,
    status_id: blocked ? 2 : 1,
    message: scrub(kind === "other" ? record.type : formatDenial(record)).value,
    metadata: {
      version: OCSF_VERSION,
      product: { name: "cordon", vendor_name: "cordon", version: product.version },
      log_name: "cordon.audit",
      log_provider: "cordon",
      uid: record.hash,
      sequence: record.seq,
      original_time: record.time,
      ...(str("session") === undefined ? {} : { correlation_uid: str("session") ?? "" }),
      ...(kind === "other" ? {} : { profiles: ["security_control"] }),
    },
    unmapped: redacted.length === 0 ? unmapped : { ...(unmapped as Record<string, Json>), cordon_redacted: [...redacted] },
  };
  if (record.code !== undefined) event["status_code"] = record.code;
  if (kind !== "other") {
    // Security Control profile: what was attempted was denied and blocked.
    event["action_id"] = 2;
    event["disposition_id"] = 2;
  } else if (record.type.endsWith(".allowed") || record.type.endsWith(".completed") || record.type.endsWith(".opened")) {
    event["action_id"] = 1;
    event["disposition_id"] = 1;
  }
  if (cls.classUid === 2004) {
    event["finding_info"] = {
      uid: record.hash,
      title: `${record.enforcer ?? "cordon"}: ${record.type}`,
      analytic: { name: record.enforcer ?? "cordon", type_id: 1, type: "Rule" },
      types: [record.type],
    };
  }
  if (cls.classUid === 6003) {
    const tool = str("tool");
    event["api"] = { operation: tool === undefined ? record.type : `${record.type.split(".")[0] ?? "call"}:${tool}`, service: { name: "cordon" } };
  }
  if (cls.classUid === 3002 || cls.classUid === 6003) {
    const role = str("role");
    const principal = str("principal") ?? str("subject");
    if (role !== undefined || principal !== undefined) event["actor"] = { user: { ...(principal === undefined ? {} : { uid: principal }), ...(role === undefined ? {} : { groups: [{ name: role }] }) } };
  }
  if (cls.classUid === 6002) event["app"] = { name: "cordon", version: product.version };
  return event;
}
