// Runs one process-tier call: a fresh cgroup (memory, pids), the sandboxed program with the
// input on stdin, stdout collected up to the cap, a wall-clock deadline, and then the whole
// cgroup killed and removed, so nothing the call started outlives it.
import { randomUUID } from "node:crypto";
import { chownSync } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { TierUnavailable } from "../errors.js";
import type { SandboxPlan } from "../sandbox/bwrap-plan.js";
import type { CellCgroup } from "../sandbox/cgroups/index.js";
import type { CellLimits } from "../sandbox/cgroups/types.js";
import { spawnSandboxed } from "../sandbox/spawn-sandboxed.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";

export interface RunProcessOptions {
  readonly plan: SandboxPlan;
  readonly launcher: string;
  readonly uid: number;
  readonly gid: number;
  readonly seccomp: Uint8Array | null;
  readonly cgroup: (id: string, limits: CellLimits) => CellCgroup;
  readonly limits: CellLimits;
  readonly input: Uint8Array;
  readonly wallClockMs: number;
  readonly maxOutputBytes: number;
  /** The seccomp supervisor's events, as they happen. */
  readonly onSeccomp?: (event: SeccompEvent) => void;
  /** The client cancelled the call: the whole process tree is killed at once. */
  readonly signal?: AbortSignal;
}

export interface ProcessRun {
  readonly exitCode: number | null;
  /** The signal that ended the process (SIGKILL when cordon killed it at a limit). */
  readonly signal: string | null;
  readonly stdout: Buffer;
  /** The last 4 KiB of stderr: shown to the caller on failure, never audited. */
  readonly stderrTail: string;
  readonly timedOut: boolean;
  /** Killed because the call was cancelled. */
  readonly cancelled: boolean;
  /** Bytes written to stdout, counting up to one past the cap. */
  readonly outputBytes: number;
  readonly outputCapped: boolean;
  readonly wallUs: number;
  /** pids.events max: forks the kernel refused at pids.max. */
  readonly pidsMaxHits: number;
  /** Processes the kernel OOM-killed at the memory limit. */
  readonly oomKills: number;
  /** Processes still in the cgroup after the program ended, killed by the reaper. */
  readonly leftovers: number;
  readonly peakMemoryBytes: number;
  /** The call's cgroup directories (removed by the time this is returned). */
  readonly cgroupDirs: readonly string[];
  /** Calls the seccomp filter denied (each also handed to onSeccomp as it happened). */
  readonly seccompDenials: number;
  /** The supervisor killed the sandbox (a foreign-ABI call), or could not supervise it. */
  readonly seccompKilled: boolean;
}

const STDERR_TAIL = 4096;

export async function runProcess(opts: RunProcessOptions): Promise<ProcessRun> {
  const cgroup = opts.cgroup(randomUUID(), opts.limits);
  const procs = Object.values(cgroup.paths).map((dir) => join(dir, "cgroup.procs"));
  const started = process.hrtime.bigint();
  try {
    if (process.getuid?.() === 0) for (const f of procs) chownSync(f, opts.uid, opts.gid);
    let seccompDenials = 0;
    let seccompKilled = false;
    const { child, eventsDone } = spawnSandboxed({
      onSeccomp: (e) => {
        if (e.kind === "denied") seccompDenials += 1;
        else seccompKilled = true;
        opts.onSeccomp?.(e);
      },
      cgroupProcs: procs,
      plan: opts.plan,
      launcher: opts.launcher,
      rlimits: { nofile: 64, fsizeBytes: 64 * 1024 * 1024 },
      uid: opts.uid,
      gid: opts.gid,
      seccomp: opts.seccomp,
      frames: false,
      stdio: "pipe",
    });
    if (child.pid === undefined) throw new TierUnavailable("process", "could not start a sandboxed process (bwrap did not spawn)");
    const stdout: Buffer[] = [];
    let outputBytes = 0;
    let capped = false;
    let stderrTail = "";
    let timedOut = false;
    const kill = () => {
      child.kill("SIGKILL");
      for (const pid of cgroup.pids()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    };
    (child.stdout as Readable).on("data", (chunk: Buffer) => {
      if (capped) return;
      const room = opts.maxOutputBytes - outputBytes;
      outputBytes += chunk.byteLength;
      if (chunk.byteLength > room) {
        capped = true;
        outputBytes = opts.maxOutputBytes + 1;
        kill();
        return;
      }
      stdout.push(chunk);
    });
    (child.stderr as Readable).on("data", (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    const stdin = child.stdin as Writable;
    stdin.on("error", () => undefined); // the program may exit without reading its input
    stdin.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.wallClockMs);
    let cancelled = false;
    const onAbort = (): void => {
      cancelled = true;
      kill();
    };
    if (opts.signal?.aborted === true) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
      child.once("error", reject);
      // "exit", not "close": a process the program left behind could hold the pipes open. The
      // pid namespace dies with its init, and the cgroup is killed below in any case.
      child.once("exit", (code, sig) => resolve([code, sig]));
    }).finally(() => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    });
    const wallUs = Number((process.hrtime.bigint() - started) / 1000n);
    await drained(child.stdout as Readable, 50);
    // The supervisor's pipe closes as it exits; its last events are in before the run is judged.
    await Promise.race([eventsDone, new Promise((r) => setTimeout(r, 200).unref())]);
    const events = cgroup.events();
    const left = cgroup.pids();
    return {
      exitCode,
      signal,
      stdout: Buffer.concat(stdout),
      stderrTail,
      timedOut,
      cancelled,
      outputBytes,
      outputCapped: capped,
      wallUs,
      pidsMaxHits: events.pidsMaxHits,
      oomKills: events.oomKills,
      leftovers: left.length,
      peakMemoryBytes: events.memoryPeakBytes,
      cgroupDirs: Object.values(cgroup.paths),
      seccompDenials,
      seccompKilled,
    };
  } finally {
    await cgroup.destroy();
  }
}

/** Waits until a stream has ended (all its data delivered), or `ms` at most. */
function drained(stream: Readable, ms: number): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      stream.off("end", done);
      stream.off("close", done);
      resolve();
    }
    stream.once("end", done);
    stream.once("close", done);
  });
}
