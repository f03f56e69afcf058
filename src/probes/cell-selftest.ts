// Self-tests for probes, run by the probe cell (hostile-cell.ts): inside the cell's own sandbox (same namespaces, seccomp filter,
// cgroup and uid), run the native hostile fixture and report what it saw. Trusted code
// attacking its own walls, so prove can show each wall holding on this host.
import { spawnSync } from "node:child_process";
import type { Json } from "../errors.js";

/** Where the cell's sandbox mounts the native fixtures (read-only). */
export const HOSTILE_IN_CELL = "/cordon/native/hostile";

const ALLOWED = new Set(["socket-inet", "connect-unix", "ptrace", "mount", "unshare", "ifaces", "read", "write", "environ", "fds", "fork-bomb", "mem-hog"]);

export function runSelftest(spec: string): Json {
  const [probe, arg] = spec.split(" ", 2);
  if (probe === undefined || !ALLOWED.has(probe)) return { error: "unknown probe" };
  const r = spawnSync(HOSTILE_IN_CELL, arg === undefined ? [probe] : [probe, arg], { env: {}, encoding: "utf8", timeout: 10_000, maxBuffer: 1 << 20, shell: false });
  let report: Json = null;
  try {
    report = JSON.parse(r.stdout.trim().split("\n")[0] ?? "null") as Json;
  } catch {
    report = null;
  }
  return { report, status: r.status, signal: r.signal, spawnError: r.error === undefined ? null : (r.error as NodeJS.ErrnoException).code ?? "error" };
}
