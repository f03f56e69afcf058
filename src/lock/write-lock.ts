// Signs a runtime lock as a DSSE envelope and writes it atomically (temp file, fsync, rename),
// so a crash never leaves a half-written lock that would stop the next start.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { signEnvelope, type Envelope, type SigningKey } from "../crypto/dsse.js";
import { collectRuntimeLock } from "./collect-lock.js";
import { encodeLock, LOCK_PAYLOAD_TYPE, type RuntimeLock } from "./manifest.js";
import type { MeasureOptions } from "./measure-runtime.js";

/**
 * The lock lives beside the installation it describes, like package-lock.json: one lock per
 * installed tree, whatever $CORDON_HOME a run uses. Its location protects nothing; the
 * signature by a trusted key does.
 */
export const LOCK_FILE_NAME = "cordon.lock.json";

export function defaultLockPath(packageRoot: string): string {
  return join(packageRoot, LOCK_FILE_NAME);
}

export function signRuntimeLock(lock: RuntimeLock, key: SigningKey): Envelope {
  return signEnvelope(LOCK_PAYLOAD_TYPE, encodeLock(lock), key);
}

export interface WrittenLock {
  readonly path: string;
  readonly components: number;
  readonly absent: readonly string[];
  readonly files: number;
  readonly bytes: number;
}

/** Measures the runtime under `packageRoot`, signs it with `key` and writes the envelope to `out`. */
export async function writeRuntimeLock(packageRoot: string, key: SigningKey, out = defaultLockPath(packageRoot), options: MeasureOptions = {}): Promise<WrittenLock> {
  const { lock, files, bytes } = await collectRuntimeLock(packageRoot, options);
  await writeAtomically(out, `${JSON.stringify(signRuntimeLock(lock, key))}\n`);
  return {
    path: out,
    components: lock.components.length,
    absent: lock.components.filter((c) => c.absent === true).map((c) => c.name),
    files,
    bytes,
  };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "wx", 0o644);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, path);
}
