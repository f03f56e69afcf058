// The runtime lock check with its refusal recorded: one `lock.refused` record (enforcer
// runtime-lock) naming the first differing component and file, as a start-up that refuses to
// serve would write it (or naming why the lock itself is refused). The result is returned unchanged; nothing is recorded when it is ok.
import type { KeyObject } from "node:crypto";
import type { AuditEvent, AuditRecord } from "../audit/index.js";
import { CordonError } from "../errors.js";
import { RuntimeLockMismatch } from "./errors.js";
import { errorFields } from "../audit/fields.js";
import { verifyRuntimeLock, type RuntimeLockResult, type VerifyLockOptions } from "./verify-lock.js";

export const RUNTIME_LOCK_ENFORCER = "runtime-lock";

/** The mismatch of a result (its first differing component), or null when it is ok. Pure. */
export function lockMismatch(result: RuntimeLockResult): RuntimeLockMismatch | null {
  const bad = result.components.filter((c) => c.status !== "ok");
  const first = bad[0];
  return first === undefined ? null : new RuntimeLockMismatch(first.name, first.file, first.reason ?? "changed", bad.length);
}

export async function verifyRuntimeLockAudited(
  envelopeBytes: Uint8Array,
  trustedKeys: ReadonlyMap<string, KeyObject>,
  packageRoot: string,
  audit: { append(event: AuditEvent): Promise<AuditRecord> },
  options: VerifyLockOptions = {},
): Promise<RuntimeLockResult> {
  let result: RuntimeLockResult;
  try {
    result = await verifyRuntimeLock(envelopeBytes, trustedKeys, packageRoot, options);
  } catch (err) {
    // A lock not signed by a trusted key is refused the same way.
    if (err instanceof CordonError) await audit.append({ type: "lock.refused", enforcer: RUNTIME_LOCK_ENFORCER, ...errorFields(err) });
    throw err;
  }
  const mismatch = lockMismatch(result);
  if (mismatch !== null) await audit.append({ type: "lock.refused", enforcer: RUNTIME_LOCK_ENFORCER, ...errorFields(mismatch) });
  return result;
}
