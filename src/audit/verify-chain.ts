// Checks a whole audit log, front to back, and names the first place it stops being trustworthy.
// Pure: the caller reads the file.
//
// A chain proves that nothing was edited, removed, reordered or inserted *before its head*.
// Dropping records from the end leaves a shorter valid chain; catching that needs the head
// anchored elsewhere (a signed checkpoint), which is not this function's job.
import { canonicalJson } from "./canonical-json.js";
import { hashRecord } from "./build-record.js";
import { GENESIS_HASH } from "./types.js";
import type { AuditRecord, ChainFault, ChainHead, ChainVerdict } from "./types.js";

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * `from` verifies a segment instead of a whole log: its first record must be `from.seq + 1`
 * and link to `from.hash` (a witness checks the records after the head it cosigned this way).
 * The verdict's `count` is then the last seq reached, like a whole log's.
 */
export function verifyChain(text: string, from: ChainHead | null = null): ChainVerdict {
  const lines = text.split("\n");
  // A log that ends cleanly ends in "\n", so the last piece is "" and holds no record.
  const complete = lines.length - 1;
  let head: ChainHead | null = from;
  for (let i = 0; i < complete; i++) {
    const expected = head === null ? 1 : head.seq + 1;
    const checked = checkLine(lines[i] ?? "", head);
    if (typeof checked === "string") return { ok: false, firstBadSeq: expected, reason: checked };
    head = { seq: checked.seq, hash: checked.hash };
  }
  if (lines[complete] !== "") {
    return { ok: false, firstBadSeq: head === null ? 1 : head.seq + 1, reason: "truncated-line" };
  }
  return { ok: true, count: head === null ? 0 : head.seq, head };
}

/** The record on `line` if it is intact and belongs right after `head`, else what is wrong. */
export function checkLine(line: string, head: ChainHead | null): AuditRecord | ChainFault {
  const record = parseRecord(line);
  if (record === null) return "parse";
  const { hash, ...unsigned } = record;
  if (hashRecord(unsigned) !== hash) return "hash";
  if (head !== null && record.seq <= head.seq) return "duplicate";
  if (record.seq !== (head === null ? 1 : head.seq + 1)) return "seq";
  if (record.prev !== (head === null ? GENESIS_HASH : head.hash)) return "prev";
  return record;
}

/**
 * A record only if the line is exactly its canonical encoding. Requiring the canonical bytes
 * (not just equivalent JSON) means no two readers can disagree about what a line says, e.g.
 * over a duplicated key.
 */
function parseRecord(line: string): AuditRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
    if (canonicalJson(value) !== line) return null;
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const candidate = value as Record<string, unknown>;
  const { seq, time, prev, hash, type } = candidate;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return null;
  if (typeof time !== "string" || !ISO_UTC.test(time)) return null;
  if (typeof prev !== "string" || !HEX64.test(prev)) return null;
  if (typeof hash !== "string" || !HEX64.test(hash)) return null;
  if (typeof type !== "string") return null;
  return candidate as AuditRecord;
}
