// One cgroup per cell, in each v1 hierarchy cordon drives: <root>/<controller>/<parent>/<id>.
// Limits are written, then read back: applied() reports what the kernel actually enforces.
import { join } from "node:path";
import {
  CgroupAdoptFailed, CgroupConfigInvalid, CgroupExists, CgroupLimitNotApplied, CgroupUnavailable, CgroupWriteFailed,
} from "./cgroup-errors.js";
import { errnoOf, readKeyed, readNumber, readPids, writeValue } from "./cgroup-files.js";
import { realCgroupHost } from "./cgroup-host.js";
import { detectCgroups } from "./detect-cgroups.js";
import { drainCgroups } from "./drain-cgroups.js";
import type { DrainReport } from "./drain-cgroups.js";
import { descendantsOf } from "./process-tree.js";
import { CONTROLLERS } from "./types.js";
import type { CellEvents, CellLimits, CgroupHost, CgroupSupport, ControllerName } from "./types.js";

export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";
export const DEFAULT_CGROUP_PARENT = "cordon";
/** cpu.cfs_period_us cordon writes; the quota is this times cpuQuotaPercent / 100. */
export const CFS_PERIOD_US = 100_000;

const CELL_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_ADOPT_PASSES = 32;

export interface CellCgroupOptions {
  /** Default /sys/fs/cgroup. Ignored for paths when `support` is given (its paths are used). */
  readonly root?: string;
  /** What detectCgroups() found; default: detect under `root` now. */
  readonly support?: CgroupSupport;
  /** The directory holding every cell's cgroup in each hierarchy; default "cordon". */
  readonly parent?: string;
  /**
   * Controllers that must be in force, or create() throws CgroupUnavailable (fail closed).
   * Default: memory and pids, plus cpu when cpuQuotaPercent is set. Pass [] to accept whatever
   * is available and read applied() instead.
   */
  readonly require?: readonly ControllerName[];
  /** Bound on destroy()'s kill loop; default 2000 ms. */
  readonly killTimeoutMs?: number;
  /** Bound on destroy()'s EBUSY rmdir retries; default 5000 ms (pid-namespace exits linger). */
  readonly removeTimeoutMs?: number;
  readonly host?: Partial<CgroupHost>;
}

export type AppliedLimits = Record<string, number | "unavailable">;

export class CellCgroup {
  readonly #dirs: ReadonlyMap<ControllerName, string>;
  readonly #host: CgroupHost;
  readonly #killTimeoutMs: number;
  readonly #removeTimeoutMs: number;
  #destroying: Promise<DrainReport> | null = null;
  #destroyed: DrainReport | null = null;

  private constructor(readonly id: string, dirs: ReadonlyMap<ControllerName, string>, host: CgroupHost, opts: CellCgroupOptions) {
    this.#dirs = dirs;
    this.#host = host;
    this.#killTimeoutMs = opts.killTimeoutMs ?? 2000;
    this.#removeTimeoutMs = opts.removeTimeoutMs ?? 5000;
  }

  static create(id: string, limits: CellLimits, opts: CellCgroupOptions = {}): CellCgroup {
    checkConfig(id, limits, opts.parent ?? DEFAULT_CGROUP_PARENT);
    const host = realCgroupHost(opts.host);
    const support = opts.support ?? detectCgroups(opts.root ?? DEFAULT_CGROUP_ROOT);
    const required = new Set(opts.require ?? defaultRequired(limits));
    for (const c of required) {
      const s = support.controllers[c];
      if (!s.available) throw new CgroupUnavailable(c, s.reason, s.detail);
    }

    const dirs = new Map<ControllerName, string>();
    try {
      for (const c of CONTROLLERS) {
        const s = support.controllers[c];
        if (!s.available) continue;
        const parentDir = join(s.path, opts.parent ?? DEFAULT_CGROUP_PARENT);
        makeDir(host, parentDir, true);
        const dir = join(parentDir, id);
        try {
          makeDir(host, dir, false);
        } catch (err) {
          if (errnoOf(err) === "EEXIST") throw new CgroupExists(id, dir);
          throw err;
        }
        dirs.set(c, dir);
        try {
          applyLimits(c, dir, limits);
        } catch (err) {
          if (required.has(c)) throw err;
          // Not required: the controller stays joined for accounting; applied() shows the gap.
        }
      }
    } catch (err) {
      for (const dir of dirs.values()) {
        try { host.rmdir(dir); } catch { /* fresh and empty; nothing more to do */ }
      }
      throw err;
    }
    return new CellCgroup(id, dirs, host, opts);
  }

  /** The cgroup directory per controller this cell joined. */
  get paths(): Readonly<Partial<Record<ControllerName, string>>> {
    return Object.fromEntries(this.#dirs);
  }

  /** Limits read back from the kernel now; "unavailable" where no such control is in force. */
  applied(): AppliedLimits {
    const mem = this.#dirs.get("memory");
    const pids = this.#dirs.get("pids");
    const cpu = this.#dirs.get("cpu");
    const num = (dir: string | undefined, file: string): number | "unavailable" =>
      (dir === undefined ? null : readNumber(join(dir, file))) ?? "unavailable";
    const oomDisable = mem === undefined ? undefined : readKeyed(join(mem, "memory.oom_control"))?.get("oom_kill_disable");
    return {
      "memory.limit_in_bytes": num(mem, "memory.limit_in_bytes"),
      "memory.memsw.limit_in_bytes": num(mem, "memory.memsw.limit_in_bytes"),
      "memory.oom_kill_disable": oomDisable ?? "unavailable",
      "pids.max": num(pids, "pids.max"),
      "cpu.cfs_period_us": num(cpu, "cpu.cfs_period_us"),
      "cpu.cfs_quota_us": num(cpu, "cpu.cfs_quota_us"),
    };
  }

  /** Move one process (all its threads) into every controller's cgroup. Adopt it before it runs guest code. */
  adopt(pid: number): void {
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new CgroupConfigInvalid("pid", "must be a positive integer");
    if (this.#destroying !== null || this.#destroyed !== null) throw new CgroupAdoptFailed(this.id, pid, "destroyed");
    for (const dir of this.#dirs.values()) {
      try {
        writeValue(join(dir, "cgroup.procs"), String(pid));
      } catch (err) {
        throw new CgroupAdoptFailed(this.id, pid, err instanceof CgroupWriteFailed ? err.reason : errnoOf(err));
      }
    }
  }

  /**
   * Adopt `rootPid` and all its descendants, repeating the walk until it finds nothing new
   * (a descendant forked mid-walk is caught by the next pass). Returns the pids adopted.
   * Descendants that exit during the walk are skipped; the root must exist.
   */
  adoptTree(rootPid: number): number[] {
    this.adopt(rootPid);
    const adopted = new Set<number>([rootPid]);
    for (let pass = 0; pass < MAX_ADOPT_PASSES; pass++) {
      const fresh = descendantsOf(rootPid, this.#host.procRoot).filter((p) => !adopted.has(p));
      if (fresh.length === 0) return [...adopted].sort((a, b) => a - b);
      for (const pid of fresh) {
        adopted.add(pid);
        try {
          this.adopt(pid);
        } catch (err) {
          if (!(err instanceof CgroupAdoptFailed && err.reason === "ESRCH")) throw err;
        }
      }
    }
    throw new CgroupAdoptFailed(this.id, rootPid, "process tree kept changing");
  }

  /** Processes in the cell's cgroups (any controller, nested cgroups included), ascending. */
  pids(): number[] {
    const all = new Set<number>();
    for (const dir of this.#dirs.values()) for (const pid of readPids(join(dir, "cgroup.procs"))) all.add(pid);
    return [...all].sort((a, b) => a - b);
  }

  /** Counters from the kernel; 0 for a controller the cell did not join (see applied()). */
  events(): CellEvents {
    const mem = this.#dirs.get("memory");
    const pids = this.#dirs.get("pids");
    const n = (dir: string | undefined, file: string): number =>
      (dir === undefined ? null : readNumber(join(dir, file))) ?? 0;
    return {
      pidsMaxHits: (pids === undefined ? undefined : readKeyed(join(pids, "pids.events"))?.get("max")) ?? 0,
      memoryFailcnt: n(mem, "memory.failcnt") + n(mem, "memory.memsw.failcnt"),
      oomKills: (mem === undefined ? undefined : readKeyed(join(mem, "memory.oom_control"))?.get("oom_kill")) ?? 0,
      memoryPeakBytes: n(mem, "memory.max_usage_in_bytes"),
    };
  }

  /**
   * pids.max = 0, SIGKILL everything until empty (CgroupKillFailed after killTimeoutMs), then
   * rmdir with EBUSY retries. Idempotent: later calls return the first call's report; after a
   * failure, a later call tries again.
   */
  async destroy(): Promise<DrainReport> {
    if (this.#destroyed !== null) return this.#destroyed;
    this.#destroying ??= drainCgroups(
      this.id,
      [...this.#dirs].map(([controller, dir]) => ({ controller, dir })),
      this.#host,
      { killTimeoutMs: this.#killTimeoutMs, removeTimeoutMs: this.#removeTimeoutMs },
    ).then(
      (report) => { this.#destroyed = report; return report; },
      (err: unknown) => { this.#destroying = null; throw err; },
    );
    return this.#destroying;
  }
}

function defaultRequired(limits: CellLimits): ControllerName[] {
  return limits.cpuQuotaPercent === undefined ? ["memory", "pids"] : ["memory", "pids", "cpu"];
}

function checkConfig(id: string, limits: CellLimits, parent: string): void {
  if (!CELL_ID.test(id)) throw new CgroupConfigInvalid("id", "must be 1-64 of [A-Za-z0-9_.-], starting with a letter or digit");
  if (!CELL_ID.test(parent)) throw new CgroupConfigInvalid("parent", "must be 1-64 of [A-Za-z0-9_.-], starting with a letter or digit");
  if (!Number.isSafeInteger(limits.memoryBytes) || limits.memoryBytes < 1 << 20) {
    throw new CgroupConfigInvalid("limits.memoryBytes", "must be an integer of at least 1 MiB");
  }
  if (!Number.isSafeInteger(limits.pids) || limits.pids < 1) {
    throw new CgroupConfigInvalid("limits.pids", "must be a positive integer");
  }
  const cpu = limits.cpuQuotaPercent;
  if (cpu !== undefined && (!Number.isFinite(cpu) || quotaUs(cpu) < 1000 || cpu > 100 * 1024)) {
    throw new CgroupConfigInvalid("limits.cpuQuotaPercent", "must be between 1 and 102400 (percent of one core)");
  }
}

function quotaUs(percent: number): number {
  return Math.round((CFS_PERIOD_US * percent) / 100);
}

function makeDir(host: CgroupHost, path: string, existingOk: boolean): void {
  try {
    host.mkdir(path);
  } catch (err) {
    if (existingOk && errnoOf(err) === "EEXIST") return;
    if (errnoOf(err) === "EEXIST") throw err;
    throw new CgroupWriteFailed(path, errnoOf(err));
  }
}

function applyLimits(controller: ControllerName, dir: string, limits: CellLimits): void {
  switch (controller) {
    case "memory":
      return applyMemory(dir, limits.memoryBytes);
    case "pids":
      writeValue(join(dir, "pids.max"), String(limits.pids));
      return expectReadBack(join(dir, "pids.max"), limits.pids, (got) => got === limits.pids);
    case "cpu": {
      if (limits.cpuQuotaPercent === undefined) return;
      const quota = quotaUs(limits.cpuQuotaPercent);
      writeValue(join(dir, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
      writeValue(join(dir, "cpu.cfs_quota_us"), String(quota));
      expectReadBack(join(dir, "cpu.cfs_period_us"), CFS_PERIOD_US, (got) => got === CFS_PERIOD_US);
      return expectReadBack(join(dir, "cpu.cfs_quota_us"), quota, (got) => got === quota);
    }
  }
}

/**
 * memory.memsw.limit_in_bytes (memory+swap) must stay >= memory.limit_in_bytes at every step,
 * so lowering writes memory first and raising writes memsw first. Both get the same value, so
 * swapping out does not dodge the limit. The kernel rounds down to a page: a lower read-back
 * is stricter and accepted; a higher one is not.
 */
function applyMemory(dir: string, bytes: number): void {
  const limitFile = join(dir, "memory.limit_in_bytes");
  const memswFile = join(dir, "memory.memsw.limit_in_bytes");
  const hasMemsw = readNumber(memswFile) !== null;
  const current = readNumber(limitFile) ?? Number.POSITIVE_INFINITY;
  const order = bytes <= current ? [limitFile, memswFile] : [memswFile, limitFile];
  for (const file of order) if (file === limitFile || hasMemsw) writeValue(file, String(bytes));
  // oom_kill_disable is inherited from the parent; 1 would make the cell hang at its limit
  // instead of being killed.
  const oomFile = join(dir, "memory.oom_control");
  if (readKeyed(oomFile)?.get("oom_kill_disable") !== 0) writeValue(oomFile, "0");
  const ok = (got: number): boolean => got > 0 && got <= bytes;
  expectReadBack(limitFile, bytes, ok);
  if (hasMemsw) expectReadBack(memswFile, bytes, ok);
  const disabled = readKeyed(oomFile)?.get("oom_kill_disable") ?? null;
  if (disabled !== 0) throw new CgroupLimitNotApplied("memory.oom_control:oom_kill_disable", 0, disabled);
}

function expectReadBack(path: string, wanted: number, ok: (got: number) => boolean): void {
  const got = readNumber(path);
  if (got === null || !ok(got)) throw new CgroupLimitNotApplied(path, wanted, got);
}
