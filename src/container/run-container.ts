// One container call, from bundle to nothing: a fresh cgroup for the call (cordon's own, with
// the memory and pids limits, read back, exactly as the process tier's), the bundle written to
// a private directory, the OCI runtime spawned by cordon itself (no daemon, never a shell),
// the input on stdin, stdout collected up to the cap, a wall-clock deadline, and then the
// container deleted, its cgroups killed and removed in every hierarchy and the bundle removed.
//
// crun runs under cordon-launch --supervise: the container's entry point is cordon-seccomp-exec,
// whose listener comes back out through the fds crun passes (--preserve-fds 2), so each denial
// is reported as it happens. A cold call is `crun run`; a warm one was `crun create`d ahead
// (--subreaper: the container's process is reparented to the supervisor, which exits with its
// status) and is released by `crun start` when its call comes. runsc (gVisor) runs `runsc run`;
// denials of the OCI filter it applies inside its sandbox are read from the Sentry's debug log
// ("Syscall N: denied by seccomp"), followed while the call runs.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { TierUnavailable } from "../errors.js";
import type { CellCgroup } from "../sandbox/cgroups/index.js";
import { cgroupTree, readPids } from "../sandbox/cgroups/cgroup-files.js";
import type { CellLimits } from "../sandbox/cgroups/types.js";
import { openFilterFd } from "../sandbox/seccomp/filter-fd.js";
import { MAX_EVENT_LINE, parseSeccompEvent, syscallName, type SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import { archSpec } from "../sandbox/seccomp/syscall-table.js";
import type { OciConfig } from "./oci-plan.js";
import { runtimeArgs, type ContainerRuntimeHost } from "./runtime-host.js";

export interface ContainerCallOptions {
  readonly host: ContainerRuntimeHost;
  readonly launcher: string;
  /** The bundle's config. */
  readonly config: OciConfig;
  /** Where bundles are written (a root-only directory of this control plane). */
  readonly bundles: string;
  /**
   * Creates the call's cgroup (memory, pids, cpu) under this control plane's parent. The launcher
   * joins it before exec'ing the runtime, so the runtime and the container are in it from their
   * first instruction, and its counters (oom_kill, pids.events) outlive the container.
   */
  readonly cgroup: (id: string, limits: CellLimits) => CellCgroup;
  readonly limits: CellLimits;
  /** crun: the compiled seccomp program (notify mode) for cordon-seccomp-exec. */
  readonly seccomp: Uint8Array | null;
  readonly wallClockMs: number;
  readonly maxOutputBytes: number;
  readonly onSeccomp?: (event: SeccompEvent) => void;
  /** Called once the container, its cgroups and bundle are gone. */
  readonly onGone?: () => void;
}

export interface ContainerRun {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: Buffer;
  /** The last 4 KiB of the container's stderr: shown to the caller on failure, never audited. */
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly outputBytes: number;
  readonly outputCapped: boolean;
  readonly wallUs: number;
  readonly pidsMaxHits: number;
  readonly oomKills: number;
  readonly peakMemoryBytes: number;
  /** Processes the reaper had to kill after the container's own process ended. */
  readonly leftovers: number;
  /** Every cgroup directory the call had (removed by the time this is returned). */
  readonly cgroupDirs: readonly string[];
  readonly seccompDenials: number;
  readonly seccompKilled: boolean;
  /** The runtime refused to create the container (its stderr says why; never the tool's fault). */
  readonly runtimeFailed: string | null;
}

const STDERR_TAIL = 4096;
const SIGNALS: Readonly<Record<number, string>> = { 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM", 31: "SIGSYS", 7: "SIGBUS", 8: "SIGFPE", 4: "SIGILL", 13: "SIGPIPE" };

/** fds the launcher's child has: the filter at 3, the notify socket at 4 (both passed into the container), events at 5 (kept outside). */
const FILTER_FD = 3;
const NOTIFY_FD = 4;
const EVENTS_FD = 5;

type Mode = "run" | "create";

/**
 * A container for one call. `create` mode makes it ahead (a warm pool entry): `ready` resolves
 * once the runtime has created it; `call` then starts it. `run` mode starts everything at `call`.
 */
export class ContainerCall {
  readonly id = `cordon-${randomUUID()}`;
  private readonly bundle: string;
  private readonly cgroup: CellCgroup;
  private child: ChildProcess | null = null;
  private readonly stdout: Buffer[] = [];
  private outputBytes = 0;
  private capped = false;
  private stderrTail = "";
  private runtimeErr = "";
  private seccompDenials = 0;
  private seccompKilled = false;
  private created: Promise<number> | null = null;
  private exited: Promise<[number | null, string | null]> | null = null;
  private eventsDone: Promise<void> = Promise.resolve();
  private logTail: { stop(): void; flush(): void } | null = null;
  private cleaned = false;

  constructor(private readonly opts: ContainerCallOptions, readonly mode: Mode) {
    if (process.getuid?.() !== 0) throw new TierUnavailable("container", "the OCI runtime is started by cordon as root (it maps container root to an unprivileged uid)");
    this.bundle = join(opts.bundles, this.id);
    mkdirSync(this.bundle, { mode: 0o700 });
    try {
      this.cgroup = opts.cgroup(this.id, opts.limits);
      writeFileSync(join(this.bundle, "config.json"), JSON.stringify(opts.config), { mode: 0o600 });
    } catch (err) {
      rmSync(this.bundle, { recursive: true, force: true });
      throw err;
    }
    if (mode === "create") this.spawnRuntime("create");
  }

  /** create mode: resolves once the container exists (created, not started); rejects if the runtime refused. */
  ready(): Promise<void> {
    if (this.created === null) return Promise.resolve();
    return this.created.then((status) => {
      if (status !== 0) throw new TierUnavailable("container", `${this.opts.host.name} create failed (status ${status}): ${this.runtimeErr.trim().split("\n").at(-1)?.slice(0, 200) ?? ""}`);
    });
  }

  private spawnRuntime(verb: Mode): void {
    const { host } = this.opts;
    const crun = host.name === "crun";
    const filterFd = crun && this.opts.seccomp !== null ? openFilterFd(this.opts.seccomp) : null;
    const runtimeArgv = runtimeArgs(host, verb, this.id, this.bundle);
    const join_ = Object.values(this.cgroup.paths).flatMap((dir) => ["--cgroup-procs", join(dir, "cgroup.procs")]);
    const launch = filterFd === null
      ? [...join_, "--", host.bin, ...runtimeArgv]
      : [...join_, "--keep", String(FILTER_FD), "--supervise", String(EVENTS_FD), "--notify-fd", String(NOTIFY_FD), ...(verb === "create" ? ["--subreaper"] : []), "--", host.bin, ...runtimeArgv];
    try {
      this.child = spawn(this.opts.launcher, launch, {
        stdio: filterFd === null ? ["pipe", "pipe", "pipe"] : ["pipe", "pipe", "pipe", filterFd, "ignore", "pipe"],
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        shell: false,
        windowsHide: true,
      });
    } finally {
      if (filterFd !== null) closeSync(filterFd);
    }
    const child = this.child;
    if (child.pid === undefined) throw new TierUnavailable("container", `could not start ${host.bin}`);
    let resolveCreated: (status: number) => void = () => undefined;
    if (verb === "create") this.created = new Promise((r) => (resolveCreated = r));
    (child.stdout as Readable).on("data", (chunk: Buffer) => this.onStdout(chunk));
    (child.stderr as Readable).on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL);
      this.runtimeErr = this.stderrTail;
    });
    (child.stdin as Writable).on("error", () => undefined);
    this.exited = new Promise<[number | null, string | null]>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code, sig) => {
        resolveCreated(code ?? 128);
        resolve([code, sig]);
      });
    });
    const events = (child.stdio as unknown as ReadonlyArray<Readable | null | undefined>)[EVENTS_FD];
    if (filterFd !== null && events) {
      events.on("error", () => undefined);
      const lines = createInterface({ input: events, crlfDelay: Infinity });
      lines.on("line", (raw) => {
        const line = raw.slice(0, MAX_EVENT_LINE + 1);
        const c = /^C (\d{1,3})$/.exec(line);
        if (c !== null) return resolveCreated(Number(c[1]));
        this.onEvent(parseSeccompEvent(line));
      });
      this.eventsDone = new Promise((r) => lines.once("close", () => r()));
    }
    if (!crun) this.logTail = followDenials(join(this.bundle, "runsc-boot.log"), (e) => this.onEvent(e));
  }

  private onEvent(e: SeccompEvent): void {
    if (e.kind === "denied") this.seccompDenials += 1;
    else {
      this.seccompKilled = true;
      if (e.kind === "killed") this.kill();
    }
    this.opts.onSeccomp?.(e);
  }

  private onStdout(chunk: Buffer): void {
    if (this.capped) return;
    const room = this.opts.maxOutputBytes - this.outputBytes;
    this.outputBytes += chunk.byteLength;
    if (chunk.byteLength > room) {
      this.capped = true;
      this.outputBytes = this.opts.maxOutputBytes + 1;
      this.kill();
      return;
    }
    this.stdout.push(chunk);
  }

  /** SIGKILL every process of the call's cgroups (nested included): the container and anything it left. */
  private kill(): number {
    let n = 0;
    for (const dir of Object.values(this.cgroup.paths)) {
      for (const d of cgroupTree(dir)) {
        for (const pid of readPids(join(d, "cgroup.procs"))) {
          try {
            process.kill(pid, "SIGKILL");
            n += 1;
          } catch {
            // gone
          }
        }
      }
    }
    return n;
  }

  /** Runs the call: starts the container (or the whole runtime, in run mode), feeds it, waits, cleans up. */
  async call(input: Uint8Array): Promise<ContainerRun> {
    const started = process.hrtime.bigint();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.kill();
    }, this.opts.wallClockMs);
    try {
      if (this.mode === "run") this.spawnRuntime("run");
      else {
        await this.ready();
        if (!releaseCreated(this.opts.host, this.id)) {
          const status = await runQuick(this.opts.host.bin, runtimeArgs(this.opts.host, "start", this.id, this.bundle));
          if (status.code !== 0) throw new TierUnavailable("container", `${this.opts.host.name} start failed: ${status.stderr.trim().slice(0, 200)}`);
        }
      }
      const child = this.child;
      if (child === null || this.exited === null) throw new Error("no container process");
      (child.stdin as Writable).end(input);
      const [exitCode, signal] = await this.exited;
      clearTimeout(timer);
      const wallUs = Number((process.hrtime.bigint() - started) / 1000n);
      await drained(child.stdout as Readable, 50);
      await Promise.race([this.eventsDone, new Promise((r) => setTimeout(r, 200).unref())]);
      this.logTail?.flush();
      const ev = this.cgroup.events();
      // Whatever is still in the call's cgroups now outlived the container's own process.
      const leftovers = this.cgroup.pids().length;
      const dirs = Object.values(this.cgroup.paths);
      // The answer is ready: deleting the container, its cgroups and bundle finishes behind it
      // (settled()); the session awaits it before its next call and before it ends.
      this.cleanup$ = this.cleanup();
      const status = normaliseExit(exitCode, signal, this.opts.host.name, this.mode);
      const createFailed = this.mode === "run" && /^(crun|runsc|Error|error|FATAL)/m.test(this.runtimeErr) && this.stdout.length === 0 && status.exitCode !== 0 && !timedOut && !this.capped && ev.oomKills === 0;
      return {
        ...status,
        stdout: Buffer.concat(this.stdout),
        stderrTail: this.stderrTail,
        timedOut,
        outputBytes: this.outputBytes,
        outputCapped: this.capped,
        wallUs,
        pidsMaxHits: ev.pidsMaxHits,
        oomKills: ev.oomKills,
        peakMemoryBytes: ev.memoryPeakBytes,
        leftovers,
        cgroupDirs: dirs,
        seccompDenials: this.seccompDenials,
        seccompKilled: this.seccompKilled,
        runtimeFailed: createFailed ? this.runtimeErr.trim().split("\n").at(-1)?.slice(0, 200) ?? "failed" : null,
      };
    } finally {
      clearTimeout(timer);
      this.cleanup$ ??= this.cleanup();
    }
  }

  private cleanup$: Promise<unknown> | null = null;

  /** Resolves once the container, its cgroups and its bundle are gone (after call() or discard()). */
  async settled(): Promise<void> {
    await (this.cleanup$ ?? Promise.resolve());
  }

  /** A warm container that will never be called: killed and removed. */
  async discard(): Promise<void> {
    this.kill();
    if (this.exited !== null) await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.cleanup$ ??= this.cleanup();
    await this.cleanup$;
  }

  /** Deletes the container's runtime state, kills and removes every cgroup of the call, removes the bundle. */
  private async cleanup(): Promise<{ leftovers: number; dirs: string[] }> {
    if (this.cleaned) return { leftovers: 0, dirs: [] };
    this.cleaned = true;
    this.logTail?.stop();
    const leftovers = this.kill();
    if (stateExists(this.opts.host, this.id)) await runQuick(this.opts.host.bin, runtimeArgs(this.opts.host, "delete", this.id, this.bundle));
    removeLocks(this.opts.host, this.id);
    const dirs = Object.values(this.cgroup.paths);
    try {
      await this.cgroup.destroy();
    } finally {
      rmSync(this.bundle, { recursive: true, force: true });
      this.opts.onGone?.();
    }
    return { leftovers, dirs };
  }
}

/**
 * Starts a created crun container the way `crun start` does, without spawning it: the container's
 * first process waits reading `<root>/<id>/exec.fifo`; one byte written there lets it exec (crun
 * 1.x's protocol, measured on Debian's 1.8.1), and the fifo is then removed as `crun start` does.
 * False (the caller runs `crun start`) for any other runtime or when nobody waits on the fifo.
 */
export function releaseCreated(host: ContainerRuntimeHost, id: string): boolean {
  if (host.name !== "crun" || !host.version.startsWith("crun version 1.")) return false;
  const fifo = join(host.stateRoot, id, "exec.fifo");
  let fd: number;
  try {
    if (!lstatSync(fifo).isFIFO()) return false;
    // O_NONBLOCK: ENXIO at once if the container is not waiting, never a blocked thread.
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    return writeSync(fd, "1") === 1;
  } catch {
    return false;
  } finally {
    closeSync(fd);
    rmSync(fifo, { force: true });
  }
}

/** Whether the runtime still holds state for `id` under its --root (runsc's flock files aside). */
export function stateExists(host: ContainerRuntimeHost, id: string): boolean {
  try {
    return readdirSync(host.stateRoot).some((e) => (e === id || e.startsWith(`${id}_`) || e.startsWith(`${id}.`)) && !e.endsWith(".lock"));
  } catch {
    return false;
  }
}

/** runsc leaves the flock file of a deleted container behind (`<id>_sandbox:<id>.lock`): removed with it. */
function removeLocks(host: ContainerRuntimeHost, id: string): void {
  try {
    for (const e of readdirSync(host.stateRoot)) if (e.startsWith(`${id}_`) && e.endsWith(".lock")) rmSync(join(host.stateRoot, e), { force: true });
  } catch {
    // no state root
  }
}

/** Exit status and signal as the container's: a runtime reports a signal death as 128+N. */
function normaliseExit(code: number | null, signal: string | null, runtime: string, mode: Mode): { exitCode: number | null; signal: string | null } {
  if (signal !== null) return { exitCode: null, signal };
  if (code !== null && code > 128 && code < 160 && (runtime === "runsc" || mode === "run")) return { exitCode: null, signal: SIGNALS[code - 128] ?? `SIG${code - 128}` };
  return { exitCode: code, signal: null };
}

/** Spawns a short runtime command (start, delete) and waits for it. */
export function runQuick(file: string, args: readonly string[], timeoutMs = 10_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, shell: false, timeout: timeoutMs });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-2048)));
    child.once("error", (e) => resolve({ code: null, stderr: String(e) }));
    child.once("exit", (code) => resolve({ code, stderr }));
  });
}

/** Waits until a stream has ended, or `ms` at most. */
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

const DENIED = /\[\s*(\d+):\s*(\d+)\] Syscall (\d+): denied by seccomp/g;

/**
 * Follows gVisor's boot log as it grows (every 20 ms while the call runs, and once more at its
 * end) and reports each "Syscall N: denied by seccomp" line: the Sentry writes one whenever the
 * OCI filter it applies to the tool refuses a call.
 */
export function followDenials(path: string, onEvent: (e: SeccompEvent) => void): { stop(): void; flush(): void } {
  let fd: number | null = null;
  let carry = "";
  const spec = archSpec(process.arch);
  const buf = Buffer.allocUnsafe(64 * 1024);
  const read = (): void => {
    if (fd === null) {
      if (!existsSync(path)) return;
      try {
        fd = openSync(path, "r");
      } catch {
        return;
      }
    }
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      const text = carry + buf.toString("utf8", 0, n);
      const cut = text.lastIndexOf("\n");
      carry = cut < 0 ? text.slice(-4096) : text.slice(cut + 1);
      for (const m of (cut < 0 ? "" : text.slice(0, cut)).matchAll(DENIED)) {
        const nr = Number(m[3]);
        onEvent({ kind: "denied", syscall: syscallName(spec, nr, spec.auditArch), nr, arch: spec.auditArch, pid: Number(m[2]) });
      }
    }
  };
  const timer = setInterval(read, 20);
  timer.unref();
  return {
    flush: read,
    stop() {
      clearInterval(timer);
      try {
        read();
      } finally {
        if (fd !== null) closeSync(fd);
        fd = null;
      }
    },
  };
}
