// A session's container-tier tools: each call runs in a fresh container (create -> start ->
// answer -> delete), as the session's own unprivileged host uid, with the session's own capped
// /workspace and /tmp (removed when the session ends). The first call may find its container
// already created (a warm slot taken when the session opened). Limits hit are typed errors
// naming their enforcer; a runtime that is missing or failed its probe is TierUnavailable.
import { LimitExceeded, ProcessExit, ProcessKilled, TierUnavailable, type CordonError } from "../errors.js";
import type { ContainerTool } from "../policy/load-policy.js";
import { PLACE_MOUNT, SessionPlaces, type PlaceName } from "../process/session-places.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import type { SeccompRule } from "../sandbox/seccomp/rules.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import type { CallOutcome, DenialSummary } from "../wasm/engine/types.js";
import type { ToolHost } from "../tier/tool-host.js";
import type { EnforcerName } from "../enforcers.js";
import type { ContainerTier, WarmSlot } from "./container-tier.js";
import type { ContainerRun } from "./run-container.js";

export interface ContainerHostOptions {
  /** Extra read-only binds for every call (probes: the native fixtures). */
  readonly extraRo?: readonly Bind[];
  /** A reduced seccomp rule table (probes of the next wall only). */
  readonly rules?: readonly SeccompRule[];
  readonly onSeccomp?: (tool: string, event: SeccompEvent) => void;
  /** Take a warm slot when the session opens (default true). */
  readonly warm?: boolean;
}

export class ContainerHost implements ToolHost {
  private readonly uid: number;
  private placesOf: SessionPlaces | null = null;
  private warm: WarmSlot | null = null;
  private closed = false;
  /** The last call's clean-up (container deleted, cgroups and bundle removed), awaited before the next call and at close. */
  private previous: Promise<void> = Promise.resolve();
  /** What the last call's container did, for probes that check the walls held. */
  lastRun: ContainerRun | null = null;
  /** Runs this session made, with their tool (probes count leftovers across them). */
  readonly runs: ContainerRun[] = [];

  constructor(
    private readonly tools: ReadonlyMap<string, ContainerTool>,
    private readonly tier: ContainerTier,
    private readonly allocUid: () => number,
    private readonly opts: ContainerHostOptions = {},
  ) {
    const first = [...tools.values()].find((t) => t.runtime === "crun");
    const slot = first !== undefined && (opts.warm ?? true) && opts.extraRo === undefined && opts.rules === undefined ? tier.takeWarm(first, [...tools.values()]) : null;
    if (slot !== null) {
      this.warm = slot;
      this.uid = slot.uid;
      this.placesOf = slot.places;
    } else {
      this.uid = allocUid();
    }
  }

  toolNames(): string[] {
    return [...this.tools.keys()];
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  get hostUid(): number {
    return this.uid;
  }

  places(): SessionPlaces {
    this.placesOf ??= SessionPlaces.create([...this.tools.values()], this.uid);
    return this.placesOf;
  }

  readonly isolation = "cell" as const;

  /** HostCallOptions are the tool's own limits here (the container enforces them itself). */
  async call(name: string, input: Uint8Array, _opts?: unknown, argv?: readonly string[]): Promise<CallOutcome> {
    const tool = this.tools.get(name);
    if (tool === undefined || this.closed) throw new Error(`container tool ${name} is not held by this session`);
    try {
      return await this.callIn(tool, input, argv);
    } catch (err) {
      // The runtime is missing or failed its probe: this call is refused (and recorded); the session goes on.
      if (!(err instanceof TierUnavailable)) throw err;
      return { ok: false, error: err, enforcer: null, logs: [], denials: [], stats: { fuelUsed: 0, wallUs: 0, outputBytes: 0, memoryBytes: 0 } };
    }
  }

  private async callIn(tool: ContainerTool, input: Uint8Array, argv: readonly string[] | undefined): Promise<CallOutcome> {
    const name = tool.name;
    const host = await this.tier.runtime(tool.runtime, tool);
    const places = this.places();
    const warm = this.warm !== null && this.warm.tool === name && argv === undefined ? this.warm : null;
    if (this.warm !== null && warm === null) {
      // The warm container was made for another tool of the session: it is never reused.
      await this.warm.call.discard();
    }
    this.warm = null;
    const call = warm?.call ?? this.tier.newCall(host, {
      tool,
      hostUid: this.uid,
      places,
      ...(this.opts.extraRo === undefined ? {} : { extraRo: this.opts.extraRo }),
      ...(this.opts.rules === undefined ? {} : { rules: this.opts.rules }),
      ...(argv === undefined ? {} : { argv }),
      onSeccomp: (e) => this.opts.onSeccomp?.(name, e),
    }, "run");
    await this.previous;
    const run = await call.call(input);
    this.previous = call.settled().catch(() => undefined);
    this.lastRun = run;
    this.runs.push(run);
    if (run.runtimeFailed !== null) throw new TierUnavailable("container", `${host.name} could not run the container: ${run.runtimeFailed}`);
    return containerOutcome(tool, run, places.full());
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.previous;
    if (this.warm !== null) await this.warm.call.discard();
    this.warm = null;
    this.placesOf?.remove();
    this.placesOf = null;
  }
}

/** Maps what happened in the container onto cordon's outcome: the first limit hit wins. */
export function containerOutcome(tool: ContainerTool, run: ContainerRun, full: readonly PlaceName[] = []): CallOutcome {
  const stats = { fuelUsed: 0, wallUs: run.wallUs, outputBytes: Math.min(run.outputBytes, tool.limits.outputBytes), memoryBytes: run.peakMemoryBytes };
  const denials: DenialSummary[] = [];
  if (run.pidsMaxHits > 0) denials.push({ enforcer: "cgroup-pids", count: run.pidsMaxHits, codes: { EAGAIN: run.pidsMaxHits }, ops: { fork: run.pidsMaxHits } });
  if (full.length > 0) denials.push({ enforcer: "disk-quota", count: full.length, codes: { ENOSPC: full.length }, ops: Object.fromEntries(full.map((p) => [PLACE_MOUNT[p], 1])) });
  const base = { logs: [] as string[], denials, stats };
  const fail = (error: CordonError, enforcer: EnforcerName | null): CallOutcome => ({ ...base, ok: false, error, enforcer });
  if (run.outputCapped) return fail(new LimitExceeded("output", run.outputBytes, tool.limits.outputBytes), "io-cap");
  if (run.timedOut) return fail(new LimitExceeded("wall-clock", Math.round(run.wallUs / 1000), tool.limits.wallClockMs), "process-deadline");
  if (run.oomKills > 0) return fail(new LimitExceeded("memory", run.peakMemoryBytes, tool.limits.memoryBytes), "cgroup-memory");
  if (run.signal !== null) return fail(new ProcessKilled(run.signal), null);
  if (run.exitCode !== 0) return fail(new ProcessExit(run.exitCode ?? -1, run.stderrTail), null);
  return { ...base, ok: true, output: new Uint8Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.byteLength) };
}
