// Counts processes from /proc and the cgroup tree: the cells' CPU time during a run, and the
// processes left over after the runtime has closed (which must be none).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupParentFor } from "../sandbox/cgroups/control-plane.js";
import { CONTROLLERS, DEFAULT_CGROUP_ROOT } from "../sandbox/cgroups/index.js";

/** Lowest host uid cordon gives a cell or a process-tier call (CellFactory's default base). */
export const CELL_UID_BASE = 200_000;
/** Linux reports utime/stime in USER_HZ ticks, 100 per second on every mainstream build. */
const TICK_MS = 10;

interface ProcFacts {
  readonly pid: number;
  readonly uid: number;
  readonly state: string;
  readonly cpuTicks: number;
  readonly cgroups: string;
}

function readProc(pid: number): ProcFacts | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const uidLine = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return {
      pid,
      uid: Number(uidLine?.[1] ?? -1),
      state: rest[0] ?? "?",
      // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the state field.
      cpuTicks: Number(rest[11] ?? 0) + Number(rest[12] ?? 0),
      cgroups: readFileSync(`/proc/${pid}/cgroup`, "utf8"),
    };
  } catch {
    return null; // gone while we looked
  }
}

function allPids(): number[] {
  return readdirSync("/proc").flatMap((name) => (/^\d+$/.test(name) ? [Number(name)] : []));
}

/** Every pid in any cgroup under `parent`, in any of cordon's hierarchies. */
export function pidsUnder(parent: string = cgroupParentFor(), root = DEFAULT_CGROUP_ROOT): number[] {
  const found = new Set<number>();
  const walk = (dir: string): void => {
    try {
      for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (line !== "") found.add(Number(line));
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
    } catch {
      // removed while we walked it
    }
  };
  for (const c of CONTROLLERS) {
    const dir = join(root, c, parent);
    if (existsSync(dir)) walk(dir);
  }
  return [...found];
}

/** CPU time (user + system) so far of each pid, in milliseconds. */
export function cpuMsByPid(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const p = readProc(pid);
    if (p !== null) out.set(pid, p.cpuTicks * TICK_MS);
  }
  return out;
}

/** CPU the processes of `after` used since `before` (a process new since then counts whole). */
export function cpuMsBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Leftovers {
  /** Live processes in a cgroup under this control plane's parent (cordon-cp-<pid>). */
  readonly inParent: readonly number[];
  /**
   * Live processes with a cell uid (200000+) that no other live control plane's cgroup
   * accounts for: ours, escaped from our cgroups, or nobody's.
   */
  readonly unaccounted: readonly number[];
  /** Cell-uid processes of other live cordon control planes on this host (not ours; context only). */
  readonly otherControlPlanes: number;
}

/**
 * Processes this control plane left behind. Other cordon runtimes on the same host use the same
 * uid range, so a cell-uid process counts as ours unless its cgroup is under another, still
 * running control plane's parent.
 */
export function leftoverProcesses(ourPid: number = process.pid): Leftovers {
  const ours = `/${cgroupParentFor(ourPid)}`;
  const inParent: number[] = [];
  const unaccounted: number[] = [];
  let others = 0;
  for (const pid of allPids()) {
    if (pid === ourPid) continue;
    const p = readProc(pid);
    if (p === null || p.state === "Z" || p.state === "X") continue;
    const lines = p.cgroups.split("\n");
    if (lines.some((l) => l.includes(`${ours}/`) || l.endsWith(ours))) {
      inParent.push(pid);
      continue;
    }
    if (p.uid < CELL_UID_BASE) continue;
    const owner = /\/cordon-cp-(\d+)(\/|$)/m.exec(p.cgroups);
    if (owner !== null && Number(owner[1]) !== ourPid && isAlive(Number(owner[1]))) others += 1;
    else unaccounted.push(pid);
  }
  return { inParent, unaccounted, otherControlPlanes: others };
}
