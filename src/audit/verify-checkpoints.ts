// Checks an audit log's signed checkpoints against its records. Pure: the caller reads both
// files. A hash chain shows edits before its head; a checkpoint, signed by a key the log's
// writer holds, pins (seq, head hash) so that cutting records off the end (truncation) or
// replacing the whole chain with another valid one shows too.
import type { KeyObject } from "node:crypto";
import { verifyEnvelope } from "../crypto/dsse.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { AuditCheckpointInvalid, AuditCheckpointMismatch, AuditCheckpointMissing, AuditTruncated } from "./audit-errors.js";
import { CHECKPOINT_PAYLOAD_TYPE, decodeCheckpoint, type Checkpoint } from "./checkpoint-payload.js";

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
  return decodeCheckpoint(payload) ?? new AuditCheckpointInvalid(n, "malformed");
}
