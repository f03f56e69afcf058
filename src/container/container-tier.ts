// The container tier of one control plane: its runtimes (each prepared and probed once, on
// first use: a runtime that fails its probe refuses every call, with the reason), the images
// (unpacked once into the content-addressed store), the calls' cgroups under this control
// plane's parent, and a warm pool of containers created ahead from a tool's template, each
// with its own unprivileged uid and capped places, bound to one session when it opens and
// never reused.
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { EnforcerName } from "../enforcers.js";
import { TierUnavailable } from "../errors.js";
import type { ContainerRuntimeName, ContainerTool } from "../policy/load-policy.js";
import { processArgv } from "../process/process-plan.js";
import { SessionPlaces, execGranted } from "../process/session-places.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import { CellCgroup } from "../sandbox/cgroups/index.js";
import { compileFilter } from "../sandbox/seccomp/compile-filter.js";
import { DEFAULT_RULES, type SeccompRule } from "../sandbox/seccomp/rules.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import { DEFAULT_IMAGE_STORE, ensureImage } from "../sandbox/image/image-store.js";
import { planContainer, RUNSC_MIN_PIDS } from "./oci-plan.js";
import { ContainerCall } from "./run-container.js";
import { prepareRuntime, removeRuntimeBase, runscPlatforms, type ContainerRuntimeHost } from "./runtime-host.js";

export interface ContainerTierOptions {
  readonly launcher: string;
  readonly seccompExec: string;
  readonly allocUid: () => number;
  /** This control plane's cgroup parent (the process tier's: swept by the start-up reaper). */
  readonly cgroupParent: string;
  readonly store?: string;
  /** Runtime state and bundles of this control plane (default /run/cordon-oci/<pid>). */
  readonly base?: string;
  /** Warm containers kept per crun tool (0: every call is cold). */
  readonly poolSize?: number;
  /** The host changes and refusals the tier makes, for the audit log. */
  readonly onRecord?: (event: { type: string; enforcer: EnforcerName; [k: string]: string | number | boolean | string[] }) => void;
}

export interface CallSpec {
  readonly tool: ContainerTool;
  readonly hostUid: number;
  readonly places: SessionPlaces | null;
  readonly extraRo?: readonly Bind[];
  /** A reduced rule table (probes of the next wall); default cordon's. */
  readonly rules?: readonly SeccompRule[];
  readonly onSeccomp?: (e: SeccompEvent) => void;
  /** Override the command (probes: the hostile fixture as a variant of the tool). */
  readonly argv?: readonly string[];
}

/** A warm pool entry: a created container with the uid and places of the session it will serve. */
export interface WarmSlot {
  readonly tool: string;
  readonly uid: number;
  readonly places: SessionPlaces;
  readonly call: ContainerCall;
}

/** How long after a warm slot is taken the pool starts refilling. */
const REFILL_DELAY_MS = 50;

export class ContainerTier {
  private readonly runtimes = new Map<ContainerRuntimeName, Promise<ContainerRuntimeHost>>();
  private readonly images = new Map<string, string>();
  private readonly base: string;
  private readonly bundles: string;
  private readonly program = compileFilter(DEFAULT_RULES);
  private readonly pools = new Map<string, WarmSlot[]>();
  private readonly filling = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: ContainerTierOptions) {
    this.base = opts.base ?? join("/run", "cordon-oci", String(process.pid));
    this.bundles = join(this.base, "bundles");
  }

  /** The image's read-only rootfs, unpacked once per digest (verified while unpacking). */
  rootfs(tool: ContainerTool): string {
    const known = this.images.get(tool.image.sha256);
    if (known !== undefined) return known;
    const u = ensureImage(tool.image.absPath, tool.image.sha256, this.opts.store ?? DEFAULT_IMAGE_STORE);
    if (u.unpacked) this.opts.onRecord?.({ type: "image.unpacked", enforcer: "module-digest", sha256: u.sha256, ms: Math.round(u.ms) });
    this.images.set(tool.image.sha256, u.rootfs);
    return u.rootfs;
  }

  /**
   * The runtime `name`, prepared and probed once: a container from `tool`'s image runs
   * /usr/bin/true through the whole stack (user namespace, seccomp entry point). A failure is
   * remembered and every later call refused with it.
   */
  runtime(name: ContainerRuntimeName, tool: ContainerTool): Promise<ContainerRuntimeHost> {
    let p = this.runtimes.get(name);
    if (p === undefined) {
      p = this.probeRuntime(name, tool);
      p.catch(() => undefined);
      this.runtimes.set(name, p);
    }
    return p;
  }

  private async probeRuntime(name: ContainerRuntimeName, tool: ContainerTool): Promise<ContainerRuntimeHost> {
    if (this.closed) throw new TierUnavailable("container", "the control plane is closing");
    mkdirSync(this.bundles, { recursive: true, mode: 0o700 });
    const failures: string[] = [];
    for (const platform of name === "runsc" ? runscPlatforms() : [null]) {
      const prepared = prepareRuntime(name, this.base, platform);
      if (prepared.mountedControllers.length > 0) this.opts.onRecord?.({ type: "tier.prepared", enforcer: "container-runtime", runtime: name, mounted: [...prepared.mountedControllers], reason: "crun refuses cgroup controllers left on v2 beside v1 hierarchies" });
      // The runtime is probed, not the tool: no grants, the image alone.
      const probeTool = Object.freeze({ ...tool, grants: [], limits: { ...tool.limits, wallClockMs: 5_000 } });
      const call = this.newCall(prepared.host, { tool: probeTool, hostUid: this.opts.allocUid(), places: null, argv: ["/usr/bin/true"] }, "run");
      const run = await call.call(new Uint8Array(0));
      if (run.exitCode === 0) {
        this.opts.onRecord?.({ type: "tier.probed", enforcer: "container-runtime", runtime: name, version: prepared.host.version, platform: platform ?? "native", ms: Math.round(run.wallUs / 1000) });
        return prepared.host;
      }
      failures.push(`${platform ?? name}: ${run.timedOut ? "no answer within 5 s" : (run.runtimeFailed ?? run.stderrTail.trim().split("\n").at(-1) ?? `status ${run.exitCode ?? run.signal}`).slice(0, 160)}`);
    }
    const err = new TierUnavailable("container", `${name} failed its probe here (${failures.join("; ")})`);
    this.opts.onRecord?.({ type: "tier.refused", enforcer: "container-runtime", runtime: name, code: err.code, missing: err.missing });
    throw err;
  }

  /** A container for one call of `spec.tool` on `host`, in `mode` (run: cold; create: warm, started on its call). */
  newCall(host: ContainerRuntimeHost, spec: CallSpec, mode: "run" | "create"): ContainerCall {
    const tool = spec.tool;
    const rootfs = this.rootfs(tool);
    const parent = this.opts.cgroupParent;
    const workspace = spec.places?.hostDirFor(tool, "workspace") ?? null;
    const tmp = spec.places?.hostDirFor(tool, "tmp") ?? null;
    const call: ContainerCall = new ContainerCall(
      {
        onGone: () => this.live.delete(call),
        host,
        launcher: this.opts.launcher,
        bundles: this.bundles,
        config: planContainer({
            tool,
            runtime: host.name,
            argv: spec.argv ?? processArgv(tool),
            rootfs,
            hostUid: spec.hostUid,
            workspace,
            tmp,
            execIn: { workspace: execGranted(tool, "workspace"), tmp: execGranted(tool, "tmp") },
            extraRo: spec.extraRo ?? [],
            seccompExec: host.name === "crun" ? this.opts.seccompExec : null,
            rules: spec.rules ?? DEFAULT_RULES,
          }),
        cgroup: (id, limits) => CellCgroup.create(id, limits, { parent }),
        limits: { memoryBytes: tool.limits.memoryBytes, pids: host.name === "runsc" ? Math.max(tool.limits.pids, RUNSC_MIN_PIDS) : tool.limits.pids, cpuQuotaPercent: 100 },
        seccomp: host.name === "crun" ? (spec.rules === undefined ? this.program : compileFilter(spec.rules)) : null,
        wallClockMs: tool.limits.wallClockMs,
        maxOutputBytes: tool.limits.outputBytes,
        ...(spec.onSeccomp === undefined ? {} : { onSeccomp: spec.onSeccomp }),
      },
      mode,
    );
    this.live.add(call);
    return call;
  }

  /** Calls whose clean-up has not finished (close waits for them). */
  private readonly live = new Set<ContainerCall>();

  /** Takes a warm slot for `tool` (a new session's), or null; the pool refills behind it. */
  takeWarm(tool: ContainerTool, tools: readonly ContainerTool[]): WarmSlot | null {
    const slot = this.pools.get(tool.name)?.shift() ?? null;
    // The refill mounts places and spawns a runtime (synchronous work): it starts once the
    // session that took the slot has had its first answer's worth of time, not inside it.
    if ((this.opts.poolSize ?? 0) > 0) {
      const delay = new Promise<void>((r) => setTimeout(r, REFILL_DELAY_MS));
      this.delays.add(delay);
      void delay.then(() => {
        this.delays.delete(delay);
        this.fill(tool, tools);
      });
    }
    return slot;
  }

  /** Refills waiting out REFILL_DELAY_MS. */
  private readonly delays = new Set<Promise<void>>();

  /** Creates warm containers for `tool` up to the pool size (crun only). */
  fill(tool: ContainerTool, tools: readonly ContainerTool[]): void {
    if (this.closed || tool.runtime !== "crun") return;
    const pool = this.pools.get(tool.name) ?? [];
    this.pools.set(tool.name, pool);
    const want = (this.opts.poolSize ?? 0) - pool.length - this.filling.size;
    for (let i = 0; i < want; i++) {
      const job = (async () => {
        const host = await this.runtime("crun", tool);
        const uid = this.opts.allocUid();
        const places = SessionPlaces.create(tools, uid);
        try {
          const call = this.newCall(host, { tool, hostUid: uid, places }, "create");
          await call.ready();
          if (this.closed) {
            await call.discard();
            places.remove();
            return;
          }
          pool.push({ tool: tool.name, uid, places, call });
        } catch (err) {
          places.remove();
          throw err;
        }
      })();
      this.filling.add(job);
      void job.catch(() => undefined).finally(() => this.filling.delete(job));
    }
  }

  private isPooled(c: ContainerCall): boolean {
    return [...this.pools.values()].some((p) => p.some((s) => s.call === c));
  }

  /** Runtime state entries and bundle directories this control plane still holds (the reaper's census; 0 when idle). */
  leftovers(): { state: number; bundles: number } {
    const count = (dir: string): number => {
      try {
        return readdirSync(dir).length;
      } catch {
        return 0;
      }
    };
    const pooled = [...this.pools.values()].reduce((n, p) => n + p.length, 0);
    return { state: count(join(this.base, "crun")) + count(join(this.base, "runsc")) - pooled, bundles: count(this.bundles) - pooled };
  }

  /** Waits until the pools are full (benchmarks, tests). */
  async settled(): Promise<void> {
    while (this.filling.size > 0 || this.delays.size > 0) {
      await Promise.allSettled([...this.delays]);
      await new Promise((r) => setImmediate(r));
      await Promise.allSettled([...this.filling]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    await Promise.allSettled([...this.live].filter((c) => !this.isPooled(c)).map((c) => c.settled()));
    for (const pool of this.pools.values()) {
      for (const slot of pool.splice(0)) {
        await slot.call.discard();
        slot.places.remove();
      }
    }
    removeRuntimeBase(this.base);
  }
}
