// Start-up clean-up: every <controller>/<parent>/<id> cgroup left by a control plane that died
// without destroying its cells is emptied (pids.max=0, SIGKILL) and removed.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CordonError } from "../../errors.js";
import { CgroupConfigInvalid } from "./cgroup-errors.js";
import { errnoOf } from "./cgroup-files.js";
import { realCgroupHost } from "./cgroup-host.js";
import { DEFAULT_CGROUP_PARENT, DEFAULT_CGROUP_ROOT } from "./cell-cgroup.js";
import { detectCgroups } from "./detect-cgroups.js";
import { drainCgroups } from "./drain-cgroups.js";
import type { DrainTarget } from "./drain-cgroups.js";
import { CONTROLLERS } from "./types.js";
import type { CgroupHost, CgroupSupport } from "./types.js";

export interface SweepOptions {
  readonly support?: CgroupSupport;
  readonly parent?: string;
  readonly killTimeoutMs?: number;
  readonly removeTimeoutMs?: number;
  readonly host?: Partial<CgroupHost>;
}

export interface SweptCell {
  readonly id: string;
  /** Cgroup directories removed, deepest first. */
  readonly removed: readonly string[];
  /** Pids that were still in them and got SIGKILL. */
  readonly killed: readonly number[];
}

export interface SweepFailure {
  readonly id: string;
  readonly error: CordonError;
}

export interface SweepResult {
  readonly removed: readonly SweptCell[];
  readonly failed: readonly SweepFailure[];
}

/**
 * Remove every cell cgroup under `<controller>/<parent>/`. Only for start-up: it kills the cells
 * of any other control plane sharing the same parent directory.
 */
export async function sweepStale(root = DEFAULT_CGROUP_ROOT, opts: SweepOptions = {}): Promise<SweepResult> {
  const parent = opts.parent ?? DEFAULT_CGROUP_PARENT;
  if (parent === "" || parent.includes("/") || parent === "." || parent === "..") {
    throw new CgroupConfigInvalid("parent", "must be a single directory name");
  }
  const host = realCgroupHost(opts.host);
  const support = opts.support ?? detectCgroups(root);
  const byId = new Map<string, DrainTarget[]>();
  for (const controller of CONTROLLERS) {
    const s = support.controllers[controller];
    if (!s.available) continue;
    const parentDir = join(s.path, parent);
    let entries;
    try {
      entries = readdirSync(parentDir, { withFileTypes: true });
    } catch (err) {
      if (errnoOf(err) === "ENOENT") continue;
      throw err;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const targets = byId.get(entry.name) ?? [];
      targets.push({ controller, dir: join(parentDir, entry.name) });
      byId.set(entry.name, targets);
    }
  }

  const removed: SweptCell[] = [];
  const failed: SweepFailure[] = [];
  const timeouts = { killTimeoutMs: opts.killTimeoutMs ?? 2000, removeTimeoutMs: opts.removeTimeoutMs ?? 5000 };
  for (const [id, targets] of [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    try {
      const report = await drainCgroups(id, targets, host, timeouts);
      removed.push({ id, removed: report.removed, killed: report.killed });
    } catch (err) {
      if (!(err instanceof CordonError)) throw err;
      failed.push({ id, error: err });
    }
  }
  return { removed, failed };
}
