// The pure core of the audit chain: one event plus the previous head becomes one linked record.
import { createHash } from "node:crypto";
import { AuditEventInvalid } from "./audit-errors.js";
import { canonicalJson } from "./canonical-json.js";
import { checkEvent } from "./check-event.js";
import { GENESIS_HASH } from "./types.js";
import type { AuditEvent, AuditRecord, ChainHead } from "./types.js";

/**
 * Links `event` after `prev` (null for the first record), stamped with `time`.
 *
 * Throws AuditEventInvalid when the event cannot be recorded as given: it sets `seq`, `time`,
 * `prev` or `hash`; its `type` is not `<area>.<past-tense>`; it is not canonical JSON; it is
 * over MAX_EVENT_BYTES; or a field at any depth is named like a secret carrier or raw tool
 * traffic (`token`, `password`, `key`, `stdout`, `input`, ... see SECRET_FIELD_NAMES) —
 * callers record sizes and digests (`inputBytes`, `inputSha256`) instead.
 */
export function buildRecord(prev: ChainHead | null, event: AuditEvent, time: Date): AuditRecord {
  const fields = checkEvent(event);
  // toISOString only gives the fixed "YYYY-MM-DDTHH:mm:ss.sssZ" shape for years 0 to 9999.
  const year = time.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) throw new AuditEventInvalid("$.time", "the clock returned an invalid or out-of-range date");
  const unsigned = {
    ...fields,
    seq: prev === null ? 1 : prev.seq + 1,
    time: time.toISOString(),
    prev: prev === null ? GENESIS_HASH : prev.hash,
  };
  const record: AuditRecord = { ...unsigned, type: fields.type, hash: hashRecord(unsigned) };
  return Object.freeze(record);
}

/** Hex sha256 over the canonical JSON of a record without its `hash` field. */
export function hashRecord(unsigned: object): string {
  return createHash("sha256").update(canonicalJson(unsigned), "utf8").digest("hex");
}

/** The line a record is stored as: its canonical JSON and a newline. */
export function encodeRecord(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}
