// The runtime lock refused this installation: which component and file, and why.
import { CordonError, type Json } from "../errors.js";

export type LockFault = "changed" | "missing" | "extra" | "moved" | "absent" | "unlocked";

/**
 * The runtime on disk differs from its signed lock: a file changed, appeared or vanished, a
 * component moved, or something runs that was never locked. `component` and `file` name the
 * first difference (components and files in sorted order); `file` is null when the whole
 * component differs (e.g. a locked binary that is gone).
 */
export class RuntimeLockMismatch extends CordonError {
  readonly code = "ERR_RUNTIME_LOCK_MISMATCH";
  constructor(readonly component: string, readonly file: string | null, readonly reason: LockFault, readonly mismatches: number) {
    super(`runtime lock mismatch in ${component}${file === null ? "" : ` at ${file}`} (${reason}); ${mismatches} component(s) differ`,
      "reinstall the locked runtime, or, if this change is intended, run `cordon lock --key KEY` again");
  }
  fields(): Record<string, Json> {
    return { component: this.component, file: this.file, reason: this.reason, mismatches: this.mismatches };
  }
}

/**
 * `cordon lock` will not sign this runtime: it is not a clean install (a file cannot be read,
 * a required component is missing, or node_modules holds something package-lock.json does not list).
 */
export class RuntimeLockRefused extends CordonError {
  readonly code = "ERR_RUNTIME_LOCK_REFUSED";
  constructor(readonly component: string, readonly file: string | null, readonly reason: "unreadable" | "absent" | "stray") {
    super(`cannot lock the runtime: ${component}${file === null ? "" : ` at ${file}`} is ${reason}`,
      reason === "stray" ? "run `npm ci` so node_modules matches package-lock.json" : "build and install cordon completely (`npm ci && npm run build`) before locking");
  }
  fields(): Record<string, Json> {
    return { component: this.component, file: this.file, reason: this.reason };
  }
}
