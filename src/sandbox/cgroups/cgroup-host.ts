// The real outside world for the cgroup enforcer; tests pass their own.
import { mkdirSync, rmdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { CgroupHost } from "./types.js";

export function realCgroupHost(overrides: Partial<CgroupHost> = {}): CgroupHost {
  return {
    mkdir: (path) => mkdirSync(path),
    rmdir: (path) => rmdirSync(path),
    kill: (pid, signal) => process.kill(pid, signal),
    sleep: async (ms) => { await sleep(ms); },
    now: () => performance.now(),
    procRoot: "/proc",
    ...overrides,
  };
}
