// Emptying and removing cgroups: the shared end of CellCgroup.destroy() and sweepStale().
import { join } from "node:path";
import { CgroupKillFailed, CgroupRemoveFailed } from "./cgroup-errors.js";
import { cgroupTree, errnoOf, readPids, writeValue } from "./cgroup-files.js";
import type { CgroupHost, ControllerName } from "./types.js";

export interface DrainTarget {
  readonly controller: ControllerName;
  /** The cell's cgroup directory in that controller's hierarchy. */
  readonly dir: string;
}

export interface DrainTimeouts {
  /** Give up killing after this long (CgroupKillFailed lists the survivors). */
  readonly killTimeoutMs: number;
  /** Give up retrying an EBUSY rmdir after this long (CgroupRemoveFailed). */
  readonly removeTimeoutMs: number;
}

export interface DrainReport {
  /** Every pid SIGKILL was sent to, ascending. */
  readonly killed: readonly number[];
  /** Directories removed (or already gone), deepest first. */
  readonly removed: readonly string[];
  readonly killMs: number;
  readonly removeMs: number;
}

/**
 * Set pids.max to 0 (so a fork bomb cannot refill what is killed) and lift any CPU quota (so the
 * killed can run their exit), SIGKILL every pid in every
 * cgroup of the targets (nested ones included) until all are empty, then rmdir them deepest first,
 * retrying EBUSY (an exited task stays charged until it is reaped). Bounded by `timeouts`.
 */
export async function drainCgroups(
  id: string,
  targets: readonly DrainTarget[],
  host: CgroupHost,
  timeouts: DrainTimeouts,
): Promise<DrainReport> {
  const dirs = targets.flatMap((t) => cgroupTree(t.dir).map((dir) => ({ controller: t.controller, dir })));
  for (const { controller, dir } of dirs) {
    // pids.max=0: nothing killed can be replaced. cfs_quota_us=-1: a throttled task cannot run
    // its exit path until the next period, so lift the quota before killing. Best effort: the
    // kill loop below is bounded either way.
    const file = controller === "pids" ? "pids.max" : controller === "cpu" ? "cpu.cfs_quota_us" : null;
    if (file === null) continue;
    try {
      writeValue(join(dir, file), controller === "pids" ? "0" : "-1");
    } catch {
      // see above
    }
  }

  const killed = new Set<number>();
  const killStart = host.now();
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    const live = [...new Set(dirs.flatMap(({ dir }) => readPids(join(dir, "cgroup.procs"))))].sort((a, b) => a - b);
    if (live.length === 0) break;
    const waited = host.now() - killStart;
    if (waited > timeouts.killTimeoutMs) throw new CgroupKillFailed(id, live, waited);
    for (const pid of live) {
      try {
        host.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        // ESRCH: already gone. EPERM: it stays listed and ends as a survivor.
      }
    }
    await host.sleep(delay);
  }
  const killMs = host.now() - killStart;

  const removeStart = host.now();
  const removed: string[] = [];
  for (const { dir } of dirs) {
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        host.rmdir(dir);
        break;
      } catch (err) {
        const code = errnoOf(err);
        if (code === "ENOENT") break;
        if (code !== "EBUSY" || host.now() - removeStart > timeouts.removeTimeoutMs) {
          throw new CgroupRemoveFailed(id, dir, code);
        }
        await host.sleep(delay);
      }
    }
    removed.push(dir);
  }
  return {
    killed: [...killed].sort((a, b) => a - b),
    removed,
    killMs,
    removeMs: host.now() - removeStart,
  };
}
