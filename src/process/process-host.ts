// A session's process-tier tools: each call runs the tool's program in a fresh sandbox and
// cgroup, with the session's own /workspace and /tmp (size-capped tmpfs mounts owned by the
// session's uid, noexec unless granted, removed when the session ends). Limits hit are typed
// errors naming their enforcer.
import type { OsSandbox } from "../sandbox/os-sandbox.js";
import type { HostCallOptions, ToolHost } from "../tier/tool-host.js";
import { CallCancelled, LimitExceeded, ProcessExit, ProcessKilled, type CordonError } from "../errors.js";
import type { ProcessTool } from "../policy/load-policy.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import { supervisedSeccomp } from "../sandbox/spawn-sandboxed.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import type { CallOutcome, DenialSummary } from "../wasm/engine/types.js";
import { processArgv, processPlan } from "./process-plan.js";
import { PLACE_MOUNT, SessionPlaces, type PlaceName } from "./session-places.js";
import { runProcess, type ProcessRun } from "./run-process.js";
import type { EnforcerName } from "../enforcers.js";


export interface ProcessHostOptions {
  /** Extra read-only binds for every call (probes: the native fixtures). */
  readonly extraRo?: readonly Bind[];
  /** A seccomp supervisor's event from one of this session's tool processes. */
  readonly onSeccomp?: (tool: string, event: SeccompEvent) => void;
}

export class ProcessHost implements ToolHost {
  readonly isolation = "cell";
  private readonly uid: number;
  private placesOf: SessionPlaces | null = null;
  private closed = false;
  /** What the last call's process did, for probes that check the walls held. */
  lastRun: ProcessRun | null = null;

  constructor(
    private readonly tools: ReadonlyMap<string, ProcessTool>,
    private readonly sandbox: OsSandbox,
    private readonly opts: ProcessHostOptions = {},
  ) {
    this.uid = sandbox.allocUid();
  }

  toolNames(): string[] {
    return [...this.tools.keys()];
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** Host uid the session's tool processes run as. */
  get hostUid(): number {
    return this.uid;
  }

  /** The session's writable places, mounted on first use (TierUnavailable where they cannot be). */
  places(): SessionPlaces {
    this.placesOf ??= SessionPlaces.create([...this.tools.values()], this.uid);
    return this.placesOf;
  }

  /** The session's workspace on the host (its tmpfs), mounted on first use. */
  workspace(): string {
    return this.places().dirOf("workspace");
  }

  async call(name: string, input: Uint8Array, opts?: Pick<HostCallOptions, "signal">): Promise<CallOutcome> {
    const tool = this.tools.get(name);
    if (tool === undefined || this.closed) throw new Error(`process tool ${name} is not held by this session`);
    const places = this.places();
    const plan = processPlan({ argv: processArgv(tool), tool, workspace: places.hostDirFor(tool, "workspace"), tmp: places.hostDirFor(tool, "tmp"), extraRo: this.opts.extraRo ?? [], seccomp: supervisedSeccomp(this.sandbox.seccompExec, false) });
    const run = await runProcess({
      plan,
      launcher: this.sandbox.launcher,
      uid: this.uid,
      gid: this.uid,
      seccomp: this.sandbox.seccomp,
      cgroup: (id, limits) => this.sandbox.cgroup(id, limits),
      limits: { memoryBytes: tool.limits.memoryBytes, pids: tool.limits.pids },
      input,
      wallClockMs: tool.limits.wallClockMs,
      maxOutputBytes: tool.limits.outputBytes,
      onSeccomp: (e) => this.opts.onSeccomp?.(name, e),
      ...(opts?.signal === undefined ? {} : { signal: opts.signal }),
    });
    this.lastRun = run;
    return outcomeOf(tool, run, places.full());
  }

  close(): Promise<void> {
    this.closed = true;
    this.placesOf?.remove();
    this.placesOf = null;
    return Promise.resolve();
  }
}

/** Maps what happened to the process onto cordon's outcome: the first limit hit wins. */
export function outcomeOf(tool: ProcessTool, run: ProcessRun, full: readonly PlaceName[] = []): CallOutcome {
  const stats = { fuelUsed: 0, wallUs: run.wallUs, outputBytes: Math.min(run.outputBytes, tool.limits.outputBytes), memoryBytes: run.peakMemoryBytes };
  const denials: DenialSummary[] = [];
  if (run.pidsMaxHits > 0) denials.push({ enforcer: "cgroup-pids", count: run.pidsMaxHits, codes: { EAGAIN: run.pidsMaxHits }, ops: { fork: run.pidsMaxHits } });
  // The kernel refused a write past the tmpfs's size (ENOSPC): one record per call that hit it.
  if (full.length > 0) denials.push({ enforcer: "disk-quota", count: full.length, codes: { ENOSPC: full.length }, ops: Object.fromEntries(full.map((p) => [PLACE_MOUNT[p], 1])) });
  const base = { logs: [] as string[], denials, stats };
  const fail = (error: CordonError, enforcer: EnforcerName | null): CallOutcome => ({ ...base, ok: false, error, enforcer });
  if (run.cancelled) return fail(new CallCancelled("running", "the call's process tree (its cgroup) was killed"), null);
  if (run.outputCapped) return fail(new LimitExceeded("output", run.outputBytes, tool.limits.outputBytes), "io-cap");
  if (run.timedOut) return fail(new LimitExceeded("wall-clock", Math.round(run.wallUs / 1000), tool.limits.wallClockMs), "process-deadline");
  if (run.oomKills > 0) return fail(new LimitExceeded("memory", run.peakMemoryBytes, tool.limits.memoryBytes), "cgroup-memory");
  if (run.signal !== null) return fail(new ProcessKilled(run.signal), null);
  if (run.exitCode !== 0) {
    return fail(new ProcessExit(run.exitCode ?? -1, run.stderrTail), null);
  }
  return { ...base, ok: true, output: new Uint8Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.byteLength) };
}
