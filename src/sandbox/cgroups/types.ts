// Plain data shared by the cgroup enforcer's verbs.

/** The controllers cordon drives. Order is the order in which cgroups are created and joined. */
export const CONTROLLERS = ["memory", "pids", "cpu"] as const;
export type ControllerName = (typeof CONTROLLERS)[number];

export type CgroupUnsupportedReason =
  /** No hierarchy under the root carries this controller. */
  | "not-mounted"
  /** The v1 hierarchy is mounted read-only. */
  | "read-only"
  /** The hierarchy is mounted, but this process may not create cgroups in it or move pids into it. */
  | "not-writable"
  /** Only the unified (v2) hierarchy offers it, and cordon drives v1 only (not testable here). */
  | "v2-not-implemented"
  /** The mount table could not be read, so nothing is known. */
  | "mounts-unreadable";

export type ControllerSupport =
  | { readonly available: true; readonly version: "v1"; readonly path: string }
  | {
      readonly available: false;
      readonly version: "v1" | "v2" | null;
      readonly reason: CgroupUnsupportedReason;
      readonly detail: string;
    };

export interface CgroupSupport {
  readonly root: string;
  readonly controllers: Readonly<Record<ControllerName, ControllerSupport>>;
}

/** The side effects cgroup code performs besides reading and writing control files. */
export interface CgroupHost {
  /** Create one directory; must throw EEXIST if it exists (the kernel populates control files). */
  mkdir(path: string): void;
  /** Remove one (cgroup) directory. */
  rmdir(path: string): void;
  kill(pid: number, signal: NodeJS.Signals): void;
  sleep(ms: number): Promise<void>;
  /** Monotonic milliseconds. */
  now(): number;
  /** Where /proc is mounted (to walk process trees). */
  readonly procRoot: string;
}

export interface CellLimits {
  /** memory.limit_in_bytes and memory.memsw.limit_in_bytes; the kernel rounds down to a page. */
  readonly memoryBytes: number;
  /** pids.max: tasks (processes and threads) the cell may hold at once, itself included. */
  readonly pids: number;
  /** CPU time per wall time, in percent of one core (200 = two cores). Omitted: no quota. */
  readonly cpuQuotaPercent?: number;
}

export interface CellEvents {
  /** pids.events "max": forks refused because pids.max was reached. */
  readonly pidsMaxHits: number;
  /** memory.failcnt + memory.memsw.failcnt: charges refused at the memory or memory+swap limit. */
  readonly memoryFailcnt: number;
  /** memory.oom_control "oom_kill": processes the OOM killer killed in this cgroup. */
  readonly oomKills: number;
  /** memory.max_usage_in_bytes: the high-water mark of charged memory. */
  readonly memoryPeakBytes: number;
}
