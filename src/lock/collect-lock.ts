// `cordon lock`: measures the runtime and, if it is a clean install, returns the manifest to
// sign. Refuses (RuntimeLockRefused) rather than lock a half-built or polluted runtime.
import { RuntimeLockRefused } from "./errors.js";
import { LOCK_VERSION, type RuntimeLock } from "./manifest.js";
import { measureRuntime, type MeasureOptions, type RuntimeMeasurement } from "./measure-runtime.js";

/** Components that must be present to lock: the interpreter, cordon's code and its lockfile. */
const REQUIRED = new Set(["node", "cordon:dist", "cordon:package"]);

export interface CollectedLock {
  readonly lock: RuntimeLock;
  readonly files: number;
  readonly bytes: number;
}

export async function collectRuntimeLock(packageRoot: string, options: MeasureOptions = {}): Promise<CollectedLock> {
  const m = await measureRuntime(packageRoot, options);
  refuseUnclean(m);
  return { lock: { version: LOCK_VERSION, platform: `${process.platform}-${process.arch}`, components: m.components }, files: m.files, bytes: m.bytes };
}

function refuseUnclean(m: RuntimeMeasurement): void {
  const stray = m.strays[0];
  if (stray !== undefined) throw new RuntimeLockRefused(`npm:${stray}`, stray, "stray");
  for (const c of m.components) {
    if (c.absent === true && (REQUIRED.has(c.name) || (c.name.startsWith("npm:") && !m.optional.has(c.name)))) {
      throw new RuntimeLockRefused(c.name, c.paths[0] ?? null, "absent");
    }
    for (const [file, digest] of Object.entries(c.files)) {
      if (digest === "special:unreadable") throw new RuntimeLockRefused(c.name, file, "unreadable");
    }
  }
}
