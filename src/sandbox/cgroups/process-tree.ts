// Walking a process tree through /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { errnoOf, readPids } from "./cgroup-files.js";

/** Direct children of every thread of `pid`; [] if it has exited. */
export function childrenOf(pid: number, procRoot: string): number[] {
  let tids: string[];
  try {
    tids = readdirSync(join(procRoot, String(pid), "task"));
  } catch (err) {
    const code = errnoOf(err);
    if (code === "ENOENT" || code === "ESRCH") return [];
    throw err;
  }
  const out: number[] = [];
  for (const tid of tids) out.push(...readPids(join(procRoot, String(pid), "task", tid, "children")));
  return out;
}

/** All descendants of `pid` (not `pid` itself), breadth first, without duplicates. */
export function descendantsOf(pid: number, procRoot: string): number[] {
  const seen = new Set<number>([pid]);
  const out: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of childrenOf(next, procRoot)) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}
