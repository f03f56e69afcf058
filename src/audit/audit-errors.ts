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
