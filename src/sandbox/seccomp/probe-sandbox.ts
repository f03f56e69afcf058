// A minimal bwrap sandbox for proving the filter on this host (load-check.ts and the live
// tests). It is not the process tier's runner: it binds only /usr read-only, has no writable
// directory and runs one short command.

import { spawnSync } from "node:child_process";
import type { SpawnSyncOptions, SpawnSyncReturns } from "node:child_process";
import { closeSync } from "node:fs";
import { openFilterFd } from "./filter-fd.js";
import { SECCOMP_EXEC_PATH } from "../bwrap-plan.js";

/** The uid/gid bwrap runs as when cordon is root: a sandbox root must never be host root. */
export const PROBE_UID = 65534;

/** The fd number the program is handed to bwrap on. */
const SECCOMP_FD = 3;

const SANDBOX_ARGS: readonly string[] = Object.freeze([
  "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
  "--cap-drop", "ALL", "--clearenv", "--disable-userns",
  "--ro-bind", "/usr", "/usr",
  "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
  "--proc", "/proc", "--dev", "/dev", "--chdir", "/",
]);

export interface ProbeRun {
  /** The bwrap executable. */
  readonly bwrap: string;
  /** The program for `--seccomp`, or null for a control run without a filter. */
  readonly program: Uint8Array | null;
  /** The command inside the sandbox: an absolute path and its arguments. */
  readonly argv: readonly [string, ...string[]];
  readonly timeoutMs: number;
  /**
   * Run it the way cells and tools run: cordon-launch as the supervisor, the program (compiled
   * in "notify" mode) installed by cordon-seccomp-exec inside. The supervisor's event lines
   * come back as `events`.
   */
  readonly supervised?: { readonly launcher: string; readonly helper: string };
}

export interface SupervisedProbeRun extends SpawnSyncReturns<string> {
  /** What the supervisor reported (supervised runs only). */
  readonly events: string;
}

/** Run `argv` under bwrap (and the filter), synchronously; never through a shell. */
export function runInProbeSandbox(run: ProbeRun): SupervisedProbeRun {
  const fd = run.program === null ? null : openFilterFd(run.program);
  const sup = fd === null ? undefined : run.supervised;
  try {
    const args =
      sup === undefined
        ? [...SANDBOX_ARGS, ...(fd === null ? [] : ["--seccomp", String(SECCOMP_FD)]), "--", ...run.argv]
        : ["--keep", String(SECCOMP_FD), "--supervise", "4", "--notify-fd", "5", "--", run.bwrap, ...SANDBOX_ARGS, "--ro-bind", sup.helper, SECCOMP_EXEC_PATH, "--", SECCOMP_EXEC_PATH, String(SECCOMP_FD), "5", "--", ...run.argv];
    const options: SpawnSyncOptions = {
      stdio: fd === null ? ["ignore", "pipe", "pipe"] : sup === undefined ? ["ignore", "pipe", "pipe", fd] : ["ignore", "pipe", "pipe", fd, "pipe"],
      env: {},
      shell: false,
      encoding: "utf8",
      timeout: run.timeoutMs,
      killSignal: "SIGKILL",
      maxBuffer: 1 << 20,
    };
    if (process.getuid?.() === 0) {
      options.uid = PROBE_UID;
      options.gid = PROBE_UID;
    }
    const r = spawnSync(sup === undefined ? run.bwrap : sup.launcher, args, options) as SpawnSyncReturns<string>;
    const events = (r.output as Array<string | null> | null)?.[4] ?? "";
    return { ...r, events };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
