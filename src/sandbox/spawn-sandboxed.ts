// The one place that starts sandboxed processes: bwrap, launched as an unprivileged host uid
// (never as host root: for bound paths, the sandbox's root would be host root), with a clean
// environment, exactly the fds we list, and the seccomp program on an fd. The launcher stays
// outside the sandbox as its seccomp supervisor and reports every denial on a pipe.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { closeSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Socket } from "node:net";
import type { SandboxPlan, SupervisedSeccomp } from "./bwrap-plan.js";
import { openFilterFd } from "./seccomp/index.js";
import { MAX_EVENT_LINE, parseSeccompEvent, type SeccompEvent } from "./seccomp/supervisor-events.js";

export interface SpawnOptions {
  readonly plan: SandboxPlan;
  /**
   * build/native/cordon-launch: closes every fd but stdio and ours (Node does not close fds a
   * parent leaked without O_CLOEXEC, and bwrap would carry them in), sets rlimits, and with a
   * seccomp program forks itself into the sandbox's seccomp supervisor before exec'ing bwrap.
   */
  readonly launcher: string;
  readonly rlimits: { readonly nofile: number; readonly fsizeBytes: number };
  /** cgroup.procs files the launcher joins before exec (delegated to `uid` by the caller). */
  readonly cgroupProcs?: readonly string[];
  /** Host uid/gid bwrap runs as. Must not be 0. */
  readonly uid: number;
  readonly gid: number;
  /**
   * The compiled seccomp program (mode "notify"), installed inside the sandbox by
   * cordon-seccomp-exec; the plan must have been built with `sandboxFds(frames)`'s numbers.
   */
  readonly seccomp: Uint8Array | null;
  /** Give the child a frame socket on fd 3. */
  readonly frames: boolean;
  /** stdin/stdout as pipes (process tier) or closed (cells, which use fd 3). */
  readonly stdio: "pipe" | "ignore";
  /** Every event of the seccomp supervisor: denials (answered EPERM), kills, failures. */
  readonly onSeccomp?: (event: SeccompEvent) => void;
}

/** The fd numbers inside bwrap (and so inside the sandbox), given whether there is a frame socket. */
export interface SandboxFds {
  readonly frames: number | null;
  /** The seccomp program, for cordon-seccomp-exec. */
  readonly filter: number;
  /** The supervisor's event pipe: the launcher keeps it outside; it never enters the sandbox. */
  readonly events: number;
  /** The sandbox's end of the socket pair the listener goes back through. */
  readonly notify: number;
}

export function sandboxFds(frames: boolean): SandboxFds {
  const first = frames ? 4 : 3;
  return { frames: frames ? 3 : null, filter: first, events: first + 1, notify: first + 2 };
}

/** What a plan needs to know to run its command under cordon-seccomp-exec (`helper` on the host). */
export function supervisedSeccomp(helper: string, frames: boolean): SupervisedSeccomp {
  const fds = sandboxFds(frames);
  return { helper, filterFd: fds.filter, notifyFd: fds.notify };
}

export interface SandboxedChild {
  readonly child: ChildProcess;
  /**
   * Resolves once the supervisor's event pipe has closed (it closes when the supervisor exits,
   * right after the sandbox), so every event of the run has been handed on; at once without one.
   */
  readonly eventsDone: Promise<void>;
}

export function spawnSandboxed(opts: SpawnOptions): SandboxedChild {
  if (opts.uid === 0 || opts.gid === 0) throw new Error("refusing to run a sandbox as host root");
  const fds = sandboxFds(opts.frames);
  // One fd per sandbox: its read position is consumed, and an empty program is refused.
  const filterFd = opts.seccomp === null ? null : openFilterFd(opts.seccomp);
  const io = opts.stdio === "pipe" ? "pipe" : "ignore";
  const stdio: StdioOptions = [io, io, "pipe"];
  if (opts.frames) stdio.push("pipe");
  const keep: number[] = opts.frames ? [3] : [];
  const supervise: string[] = [];
  if (filterFd !== null) {
    stdio.push(filterFd, "pipe");
    keep.push(fds.filter);
    supervise.push("--supervise", String(fds.events), "--notify-fd", String(fds.notify));
  }
  const join = (opts.cgroupProcs ?? []).flatMap((f) => ["--cgroup-procs", f]);
  const launch = [
    ...keep.flatMap((fd) => ["--keep", String(fd)]),
    ...join,
    "--nofile", String(opts.rlimits.nofile),
    "--fsize", String(opts.rlimits.fsizeBytes),
    "--core", "0",
    ...supervise,
    "--",
    opts.plan.file,
  ];
  let child: ChildProcess;
  try {
    // As root, drop to the cell's own uid; as an ordinary user, we already are unprivileged.
    const ids = process.getuid?.() === 0 ? { uid: opts.uid, gid: opts.gid } : {};
    child = spawn(opts.launcher, [...launch, ...opts.plan.args], {
      stdio,
      ...ids,
      env: {},
      shell: false,
      detached: false,
      windowsHide: true,
    });
  } finally {
    if (filterFd !== null) closeSync(filterFd);
  }
  const eventsDone = filterFd === null ? Promise.resolve() : watchSupervisor(child.stdio[fds.events] as Socket | null, opts.onSeccomp);
  return { child, eventsDone };
}

/** Reads the supervisor's lines and hands each event on; an idle pipe never keeps us alive. */
function watchSupervisor(stream: Socket | null, onEvent: ((e: SeccompEvent) => void) | undefined): Promise<void> {
  if (stream === null) return Promise.resolve();
  stream.unref();
  stream.on("error", () => undefined);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on("line", (line) => onEvent?.(parseSeccompEvent(line.slice(0, MAX_EVENT_LINE + 1))));
  return new Promise((resolve) => lines.once("close", () => resolve()));
}
