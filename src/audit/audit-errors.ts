// Failures specific to the audit module. They extend the shared CordonError so callers can
// switch on `code` exactly as for the classes in ../errors.ts. Paths name field positions
// (`$.details.token`), never values.
import { AuditWriteFailed, CordonError } from "../errors.js";
import type { Json } from "../errors.js";

/** A value that has no canonical JSON encoding (non-finite number, Date, cycle, ...). */
export class NotCanonicalJson extends CordonError {
  readonly code = "ERR_AUDIT_NOT_JSON";
  constructor(readonly path: string, readonly problem: string) {
    super(`not canonical JSON at ${path}: ${problem}`);
  }
  fields(): Record<string, Json> {
    return { path: this.path, problem: this.problem };
  }
}

/** An event the log will not record as given (secret-carrier field name, reserved field, ...). */
export class AuditEventInvalid extends CordonError {
  readonly code = "ERR_AUDIT_EVENT_INVALID";
  constructor(readonly path: string, readonly problem: string, hint?: string) {
    super(`audit event rejected at ${path}: ${problem}`, hint);
  }
  fields(): Record<string, Json> {
    return { path: this.path, problem: this.problem };
  }
}

/** The audit file could not be read (`reason` is the errno code, e.g. ENOENT). */
export class AuditUnreadable extends CordonError {
  readonly code = "ERR_AUDIT_UNREADABLE";
  constructor(readonly file: string, readonly reason: string) {
    super(`cannot read audit log ${file}: ${reason}`,
      reason === "ENOENT" ? "check the path; a log exists once cordon has recorded its first decision" : undefined);
  }
  fields(): Record<string, Json> {
    return { file: this.file, reason: this.reason };
  }
}

/** Any sink failure as AuditWriteFailed, keeping only an errno-style code as the reason. */
export function toWriteFailed(err: unknown): AuditWriteFailed {
  if (err instanceof AuditWriteFailed) return new AuditWriteFailed(err.reason);
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return new AuditWriteFailed(typeof code === "string" ? code : "unknown");
}

/**
 * The log ends before a signed checkpoint's record: records were cut off the end. (A chain
 * alone cannot show this; the signed checkpoint anchors how long the log was.)
 */
export class AuditTruncated extends CordonError {
  readonly code = "ERR_AUDIT_TRUNCATED";
  constructor(readonly checkpointSeq: number, readonly records: number) {
    super(`audit log has ${records} record(s) but a signed checkpoint covers seq ${checkpointSeq}: it was truncated`);
  }
  fields(): Record<string, Json> {
    return { checkpointSeq: this.checkpointSeq, records: this.records };
  }
}

/** The record at a signed checkpoint's seq has another hash: the chain was rewritten. */
export class AuditCheckpointMismatch extends CordonError {
  readonly code = "ERR_AUDIT_CHECKPOINT_MISMATCH";
  constructor(readonly seq: number, readonly line: number) {
    super(`record seq ${seq} does not match the signed checkpoint on line ${line}: the chain was rewritten`);
  }
  fields(): Record<string, Json> {
    return { seq: this.seq, line: this.line };
  }
}

export type CheckpointFault = "signature" | "malformed" | "order" | "other-log" | "partial-line";

/** A line of the checkpoint file is not a valid, signed checkpoint of this log in order. */
export class AuditCheckpointInvalid extends CordonError {
  readonly code = "ERR_AUDIT_CHECKPOINT_INVALID";
  constructor(readonly line: number, readonly reason: CheckpointFault) {
    super(`audit checkpoint on line ${line} is invalid (${reason})`);
  }
  fields(): Record<string, Json> {
    return { line: this.line, reason: this.reason };
  }
}

/** Checkpoints were to be verified, but the log has none (the checkpoint file is gone or empty). */
export class AuditCheckpointMissing extends CordonError {
  readonly code = "ERR_AUDIT_CHECKPOINT_MISSING";
  constructor(readonly file: string) {
    super(`no signed checkpoints in ${file}`, "a checkpointed log always has its .checkpoints file; without it truncation cannot be ruled out");
  }
  fields(): Record<string, Json> {
    return { file: this.file };
  }
}

// ---- The witness (src/audit/witness/) and its clients ------------------------------------
// A witness answers a refusal with one of these codes (and an HTTP status, see
// witness/serve-witness.ts); the control plane and `audit verify` have their own, below.

/** A witness request that is not a checkpoint submission it can read (or a log name it will not store). */
export class AuditWitnessMalformed extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_MALFORMED";
  constructor(readonly reason: string) {
    super(`witness request is malformed: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { reason: this.reason };
  }
}

/** A witness request over the witness's cap (`what`: request bytes or segment records). */
export class AuditWitnessTooLarge extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_TOO_LARGE";
  constructor(readonly what: "bytes" | "records", readonly limit: number) {
    super(`witness request is over the cap of ${limit} ${what}`, "the checkpointer submits at most MAX_SEGMENT_RECORDS records per request, in several checkpoints if it must");
  }
  fields(): Record<string, Json> {
    return { what: this.what, limit: this.limit };
  }
}

export type UnknownLogReason = "not-configured" | "not-seen" | "full";

/** A log this witness does not serve: not configured (with --log pins), never seen, or no room for another. */
export class AuditWitnessUnknownLog extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_UNKNOWN_LOG";
  constructor(readonly log: string, readonly reason: UnknownLogReason) {
    super(`the witness does not serve log ${log} (${reason})`, reason === "not-configured" ? "pin the log's checkpoint key on the witness: cordon witness --log NAME=PUBKEYFILE" : undefined);
  }
  fields(): Record<string, Json> {
    return { log: this.log, reason: this.reason };
  }
}

/** The checkpoint is not signed by the log key the witness pinned for this log. */
export class AuditWitnessSignature extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_SIGNATURE";
  constructor(readonly log: string) {
    super(`the checkpoint of log ${log} is not signed by the key the witness pinned for it`);
  }
  fields(): Record<string, Json> {
    return { log: this.log };
  }
}

/** A checkpoint older than the one the witness already cosigned. */
export class AuditWitnessRollback extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_ROLLBACK";
  constructor(readonly log: string, readonly submittedSeq: number, readonly cosignedSeq: number) {
    super(`log ${log}: checkpoint seq ${submittedSeq} is below the cosigned seq ${cosignedSeq}`);
  }
  fields(): Record<string, Json> {
    return { log: this.log, submittedSeq: this.submittedSeq, cosignedSeq: this.cosignedSeq };
  }
}

/** A validly signed checkpoint for the seq the witness cosigned, with another head: two histories. */
export class AuditWitnessFork extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_FORK";
  constructor(readonly log: string, readonly forkSeq: number, readonly cosignedHead: string, readonly submittedHead: string) {
    super(`log ${log}: a second head for seq ${forkSeq} (the witness cosigned another): the log forked`);
  }
  fields(): Record<string, Json> {
    return { log: this.log, forkSeq: this.forkSeq, cosignedHead: this.cosignedHead, submittedHead: this.submittedHead };
  }
}

/**
 * The segment from the cosigned head to the new checkpoint does not link: a record is not
 * canonical or not its own hash, a prev link breaks (at the first record: the chain does not
 * extend the cosigned one), records are missing, or the last one is not the checkpoint's head.
 */
export class AuditWitnessUnlinked extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_UNLINKED";
  constructor(readonly log: string, readonly firstBadSeq: number, readonly reason: string) {
    super(`log ${log}: the segment does not link the cosigned head to the checkpoint at seq ${firstBadSeq} (${reason})`);
  }
  fields(): Record<string, Json> {
    return { log: this.log, firstBadSeq: this.firstBadSeq, reason: this.reason };
  }
}

/** The segment starts somewhere other than right after the cosigned seq: the submitter is out of date. */
export class AuditWitnessStale extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_STALE";
  constructor(readonly log: string, readonly cosignedSeq: number, readonly segmentFrom: number) {
    super(`log ${log}: the segment starts at seq ${segmentFrom}, the witness has cosigned seq ${cosignedSeq}`, "fetch the witness's latest and send the records after it");
  }
  fields(): Record<string, Json> {
    return { log: this.log, cosignedSeq: this.cosignedSeq, segmentFrom: this.segmentFrom };
  }
}

/** The witness's own state on disk cannot be used (corrupt, or pinned to another key than configured). */
export class AuditWitnessStateInvalid extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_STATE";
  constructor(readonly file: string, readonly reason: string) {
    super(`witness state ${file} cannot be used: ${reason}`, "a witness never guesses: move the file away deliberately to start that log afresh");
  }
  fields(): Record<string, Json> {
    return { file: this.file, reason: this.reason };
  }
}

/** The witness could not be asked: connection refused, timeout, a 5xx, or an answer that is not one. */
export class AuditWitnessUnreachable extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_UNREACHABLE";
  constructor(readonly witness: string, readonly reason: string) {
    super(`witness ${witness} is unreachable (${reason})`);
  }
  fields(): Record<string, Json> {
    return { witness: this.witness, reason: this.reason };
  }
}

/** The witness answered with a refusal (a wire error: `remoteCode` is the witness's own code). */
export class AuditWitnessRejected extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_REJECTED";
  constructor(readonly witness: string, readonly status: number, readonly remoteCode: string, readonly remote: Record<string, Json>) {
    super(`witness ${witness} refused the checkpoint: ${remoteCode} (HTTP ${status})`);
  }
  fields(): Record<string, Json> {
    return { witness: this.witness, status: this.status, remoteCode: this.remoteCode, remote: this.remote };
  }
}

export type WitnessFault = "signature" | "malformed" | "other-log" | "other-key" | "checkpoint" | "none";

/** A witness cosignature that `audit verify` cannot accept (or none at all for this log). */
export class AuditWitnessInvalid extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_INVALID";
  constructor(readonly source: string, readonly reason: WitnessFault) {
    super(`witness cosignature from ${source} is not usable (${reason})`,
      reason === "none" ? "the witness has no cosigned checkpoint of this log: truncation of both files cannot be ruled out" : undefined);
  }
  fields(): Record<string, Json> {
    return { source: this.source, reason: this.reason };
  }
}

/** The log has the witness's cosigned seq, with another hash: the chain was rewritten after it was witnessed. */
export class AuditWitnessMismatch extends CordonError {
  readonly code = "ERR_AUDIT_WITNESS_MISMATCH";
  constructor(readonly witnessedSeq: number) {
    super(`record seq ${witnessedSeq} does not match the witness's cosigned checkpoint: the chain was rewritten`);
  }
  fields(): Record<string, Json> {
    return { witnessedSeq: this.witnessedSeq };
  }
}
