// The one place that starts sandboxed processes: bwrap, launched as an unprivileged host uid
// (never as host root: for bound paths, the sandbox's root would be host root), with a clean
// environment, exactly the fds we list, and the seccomp program on an fd.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { closeSync } from "node:fs";
import type { SandboxPlan } from "./bwrap-plan.js";
import { openFilterFd } from "./seccomp/index.js";

export interface SpawnOptions {
  readonly plan: SandboxPlan;
  /**
   * build/native/cordon-launch: closes every fd but stdio and ours (Node does not close fds a
   * parent leaked without O_CLOEXEC, and bwrap would carry them in), sets rlimits, execs bwrap.
   */
  readonly launcher: string;
  readonly rlimits: { readonly nofile: number; readonly fsizeBytes: number };
  /** cgroup.procs files the launcher joins before exec (delegated to `uid` by the caller). */
  readonly cgroupProcs?: readonly string[];
  /** Host uid/gid bwrap runs as. Must not be 0. */
  readonly uid: number;
  readonly gid: number;
  /** The compiled seccomp program; passed as fd 4 when `frames`, else fd 3. */
  readonly seccomp: Uint8Array | null;
  /** Give the child a frame socket on fd 3. */
  readonly frames: boolean;
  /** stdin/stdout as pipes (process tier) or closed (cells, which use fd 3). */
  readonly stdio: "pipe" | "ignore";
}

/** The fd number the seccomp program will have in bwrap, given the options. */
export function seccompFdFor(frames: boolean): number {
  return frames ? 4 : 3;
}

export function spawnSandboxed(opts: SpawnOptions): ChildProcess {
  if (opts.uid === 0 || opts.gid === 0) throw new Error("refusing to run a sandbox as host root");
  // One fd per bwrap: its read position is consumed, and an empty program makes bwrap refuse.
  const seccompFd = opts.seccomp === null ? null : openFilterFd(opts.seccomp);
  const io = opts.stdio === "pipe" ? "pipe" : "ignore";
  const stdio: StdioOptions = [io, io, "pipe"];
  if (opts.frames) stdio.push("pipe");
  if (seccompFd !== null) stdio.push(seccompFd);
  const keep = Array.from({ length: stdio.length - 3 }, (_, i) => ["--keep", String(i + 3)]).flat();
  const join = (opts.cgroupProcs ?? []).flatMap((f) => ["--cgroup-procs", f]);
  const launch = [...keep, ...join, "--nofile", String(opts.rlimits.nofile), "--fsize", String(opts.rlimits.fsizeBytes), "--core", "0", "--", opts.plan.file];
  try {
    // As root, drop to the cell's own uid; as an ordinary user, we already are unprivileged.
    const ids = process.getuid?.() === 0 ? { uid: opts.uid, gid: opts.gid } : {};
    return spawn(opts.launcher, [...launch, ...opts.plan.args], {
      stdio,
      ...ids,
      env: {},
      shell: false,
      detached: false,
      windowsHide: true,
    });
  } finally {
    if (seccompFd !== null) closeSync(seccompFd);
  }
}
