// The reaper's start-up half: each control plane keeps its cells under its own cgroup parent,
// cordon-cp-<pid>. Parents whose control plane is gone (it was SIGKILLed, say) are emptied and
// removed, so nothing a dead control plane started outlives it.
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { CONTROLLERS, DEFAULT_CGROUP_ROOT, sweepStale } from "./index.js";

const PARENT = /^cordon-cp-(\d+)$/;

export function cgroupParentFor(pid: number = process.pid): string {
  return `cordon-cp-${pid}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function removeParent(parent: string, root = DEFAULT_CGROUP_ROOT): void {
  for (const c of CONTROLLERS) {
    const dir = join(root, c, parent);
    if (existsSync(dir)) {
      try {
        rmdirSync(dir);
      } catch {
        // Still busy: the next start-up sweep takes it.
      }
    }
  }
}

/** Empties and removes every cordon-cp-<pid> parent whose control plane is dead. */
export async function reapStaleControlPlanes(root = DEFAULT_CGROUP_ROOT): Promise<string[]> {
  const dir = join(root, "pids");
  if (!existsSync(dir)) return [];
  const reaped: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = PARENT.exec(name);
    if (m === null || alive(Number(m[1]))) continue;
    await sweepStale(root, { parent: name });
    removeParent(name, root);
    reaped.push(name);
  }
  return reaped;
}
