// Failures of identity and supply-chain checks: signatures, keys, trust bundles, tokens,
// launch statements and the runtime lock. Codes are stable; fields never carry a secret,
// a token or a private key.
import { CordonError, type Json } from "../errors.js";

/** A signature envelope is malformed, unsigned by a trusted key, or for other bytes/type. */
export class SignatureInvalid extends CordonError {
  readonly code = "ERR_SIGNATURE_INVALID";
  constructor(readonly artifact: string, readonly reason: string) {
    super(`signature of ${artifact} is not valid: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { artifact: this.artifact, reason: this.reason };
  }
}

/** A key file is missing, malformed, exposed (group/world-readable) or would be overwritten. */
export class KeyUnusable extends CordonError {
  readonly code = "ERR_KEY_UNUSABLE";
  constructor(readonly key: string, readonly reason: string) {
    super(`key ${key} cannot be used: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { key: this.key, reason: this.reason };
  }
}

/**
 * A caller's token was refused. Subclasses carry stable ERR_AUTHN_* codes; no field ever holds
 * the token itself, only `tokenDigest` (a short sha256 prefix) where one is known.
 */
export abstract class AuthnError extends CordonError {}

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
