// Start-up check of the hash-locked runtime: the signed lock must be by a trusted key, and the
// runtime on disk must match it file for file. Runs at every start, so it hashes in parallel
// and streams large files; `ms` reports what it cost.
import { performance } from "node:perf_hooks";
import type { KeyObject } from "node:crypto";
import { verifyEnvelope } from "../crypto/dsse.js";
import { RuntimeLockMismatch } from "./errors.js";
import { compareLock, type ComponentCheck, type ComponentStatus } from "./compare-lock.js";
import { LOCK_PAYLOAD_TYPE, parseLock } from "./manifest.js";
import { measureRuntime, type MeasureOptions } from "./measure-runtime.js";

export interface RuntimeLockResult {
  /** Every component is `ok`. */
  readonly ok: boolean;
  /** Sorted by name. */
  readonly components: readonly ComponentCheck[];
  /** The platform the lock was made on. */
  readonly platform: string;
  /** Files hashed, and their total size. */
  readonly files: number;
  readonly bytes: number;
  /** Wall time of the whole verification, in milliseconds. */
  readonly ms: number;
}

export interface VerifyLockOptions extends MeasureOptions {
  /** Milliseconds clock for `ms` (default performance.now). */
  readonly clock?: () => number;
}

/**
 * Verifies the envelope (SignatureInvalid if it is not a runtime lock signed by one of
 * `trustedKeys`), then measures the runtime under `packageRoot` and compares. Never throws
 * for a mismatch: see `assertRuntimeLock` for that.
 */
export async function verifyRuntimeLock(
  envelopeBytes: Uint8Array,
  trustedKeys: ReadonlyMap<string, KeyObject>,
  packageRoot: string,
  options: VerifyLockOptions = {},
): Promise<RuntimeLockResult> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const lock = parseLock(verifyEnvelope(envelopeBytes, LOCK_PAYLOAD_TYPE, trustedKeys, "runtime lock"));
  const now = await measureRuntime(packageRoot, options);
  const components = compareLock(lock, now);
  return {
    ok: components.every((c) => c.status === "ok"),
    components,
    platform: lock.platform,
    files: now.files,
    bytes: now.bytes,
    ms: Math.round((clock() - started) * 10) / 10,
  };
}

/** As verifyRuntimeLock, but throws RuntimeLockMismatch naming the first differing component and file. */
export async function assertRuntimeLock(
  envelopeBytes: Uint8Array,
  trustedKeys: ReadonlyMap<string, KeyObject>,
  packageRoot: string,
  options: VerifyLockOptions = {},
): Promise<RuntimeLockResult> {
  const result = await verifyRuntimeLock(envelopeBytes, trustedKeys, packageRoot, options);
  const bad = result.components.filter((c) => c.status !== "ok");
  const first = bad[0];
  if (first !== undefined) throw new RuntimeLockMismatch(first.name, first.file, first.reason ?? "changed", bad.length);
  return result;
}

export interface LockRow {
  readonly component: string;
  readonly status: ComponentStatus;
  readonly detail: string;
}

/** One row per locked component, for `cordon prove` and `cordon lock verify`. */
export function lockRows(result: RuntimeLockResult): LockRow[] {
  return result.components.map((c) => ({ component: c.name, status: c.status, detail: c.detail }));
}
