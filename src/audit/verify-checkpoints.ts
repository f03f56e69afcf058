// Checks an audit log's signed checkpoints against its records. Pure: the caller reads both
// files. A hash chain shows edits before its head; a checkpoint, signed by a key the log's
// writer holds, pins (seq, head hash) so that cutting records off the end (truncation) or
// replacing the whole chain with another valid one shows too.
import type { KeyObject } from "node:crypto";
import { verifyEnvelope } from "../identity/dsse.js";
import { SignatureInvalid } from "../identity/errors.js";
import { AuditCheckpointInvalid, AuditCheckpointMismatch, AuditCheckpointMissing, AuditTruncated } from "./audit-errors.js";
import { canonicalJson } from "./canonical-json.js";
import { CHECKPOINT_PAYLOAD_TYPE, type Checkpoint } from "./checkpoint-payload.js";

export type CheckpointVerdict =
  | {
      readonly ok: true;
      readonly checkpoints: number;
      /** The highest seq a signed checkpoint covers. */
      readonly lastSeq: number;
      /** Records after the last checkpoint: intact as a chain, but not yet anchored by a signature. */
      readonly unanchored: number;
    }
  | { readonly ok: false; readonly error: AuditTruncated | AuditCheckpointMismatch | AuditCheckpointInvalid | AuditCheckpointMissing };

export interface CheckpointSubject {
  /** The audit file's basename, which every checkpoint names. */
  readonly logName: string;
  /** Where the checkpoints came from, for AuditCheckpointMissing. */
  readonly checkpointFile: string;
  /** Records in the (chain-verified) log. */
  readonly count: number;
  /** Hash of record `seq` (1 ≤ seq ≤ count). */
  readonly hashAt: (seq: number) => string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function verifyCheckpoints(text: string, trusted: ReadonlyMap<string, KeyObject>, subject: CheckpointSubject): CheckpointVerdict {
  const lines = text.split("\n");
  const complete = lines.length - 1;
  if (lines[complete] !== "") return { ok: false, error: new AuditCheckpointInvalid(complete + 1, "partial-line") };
  if (complete === 0) return { ok: false, error: new AuditCheckpointMissing(subject.checkpointFile) };
  const checkpoints: Checkpoint[] = [];
  for (let i = 0; i < complete; i++) {
    const parsed = parseLine(lines[i] ?? "", i + 1, trusted);
    if (parsed instanceof AuditCheckpointInvalid) return { ok: false, error: parsed };
    const prev = checkpoints[checkpoints.length - 1];
    if (parsed.log !== subject.logName) return { ok: false, error: new AuditCheckpointInvalid(i + 1, "other-log") };
    if (prev !== undefined && (parsed.seq < prev.seq || parsed.at < prev.at)) return { ok: false, error: new AuditCheckpointInvalid(i + 1, "order") };
    checkpoints.push(parsed);
  }
  for (const [i, cp] of checkpoints.entries()) {
    if (cp.seq > subject.count) return { ok: false, error: new AuditTruncated(cp.seq, subject.count) };
    if (subject.hashAt(cp.seq) !== cp.head) return { ok: false, error: new AuditCheckpointMismatch(cp.seq, i + 1) };
  }
  const lastSeq = checkpoints[checkpoints.length - 1]?.seq ?? 0;
  return { ok: true, checkpoints: checkpoints.length, lastSeq, unanchored: subject.count - lastSeq };
}

function parseLine(line: string, n: number, trusted: ReadonlyMap<string, KeyObject>): Checkpoint | AuditCheckpointInvalid {
  let envelope: unknown;
  try {
    envelope = JSON.parse(line);
  } catch {
    return new AuditCheckpointInvalid(n, "malformed");
  }
  let payload: Buffer;
  try {
    payload = verifyEnvelope(envelope, CHECKPOINT_PAYLOAD_TYPE, trusted, `audit checkpoint line ${n}`);
  } catch (err) {
    if (err instanceof SignatureInvalid) return new AuditCheckpointInvalid(n, "signature");
    throw err;
  }
  // Signed, so the writer meant these bytes; still refuse anything but the exact canonical shape.
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
    if (canonicalJson(value) !== payload.toString("utf8")) return new AuditCheckpointInvalid(n, "malformed");
  } catch {
    return new AuditCheckpointInvalid(n, "malformed");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return new AuditCheckpointInvalid(n, "malformed");
  const { log, seq, head, at, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return new AuditCheckpointInvalid(n, "malformed");
  if (typeof log !== "string" || typeof head !== "string" || !HEX64.test(head) || typeof at !== "string" || !ISO_UTC.test(at)) {
    return new AuditCheckpointInvalid(n, "malformed");
  }
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return new AuditCheckpointInvalid(n, "malformed");
  return { log, seq, head, at };
}
