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
