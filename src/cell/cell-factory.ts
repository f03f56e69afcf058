// Starts cells: checks once that this host has every layer (bwrap with user namespaces,
// seccomp, cgroups), then launches each cell with its role's binds, a fresh unprivileged uid,
// the seccomp program and its own cgroup. A missing layer is a TierUnavailable, never a
// silent downgrade. Keeps a small warm pool per role so a session does not wait for Node.
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TierUnavailable } from "../errors.js";
import { CellCgroup, detectCgroups } from "../sandbox/cgroups/index.js";
import { checkSeccompWorks, compileFilter, DEFAULT_RULES } from "../sandbox/seccomp/index.js";
import { supervisedSeccomp } from "../sandbox/spawn-sandboxed.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import type { ToolTemplate } from "../wasm/engine/types.js";
import { cellPlan, layoutCell } from "./cell-plan.js";
import { CellProcess, type CellExited, type CellMode, type CellStage, type Violation } from "./cell-process.js";
import { cgroupParentFor, removeParent } from "./reap-stale.js";
import type { ProcessSandbox } from "../process/process-host.js";

export interface CellFactoryOptions {
  readonly packageRoot: string;
  /** The control plane's per-boot launch public key (SPKI DER, base64), given to every cell. */
  readonly launchPublicKeyB64: string;
  readonly nodePath?: string;
  /** Warm cells kept per role. */
  readonly poolSize?: number;
  /** Host uids for cells: each cell gets the next one in [base, base + count). */
  readonly uidBase?: number;
  readonly uidCount?: number;
  readonly cellMemoryBytes?: number;
  readonly cellPids?: number;
  readonly onViolation?: (cell: CellProcess, v: Violation) => void;
  /** Each stage of each cell's life (see CellProcess). */
  readonly onStage?: (cell: CellProcess, stage: CellStage) => void;
  /** A cell that went away without being asked to (recorded, and its sessions ended, by the runtime). */
  readonly onExit?: (cell: CellProcess, exited: CellExited) => void;
  /** A seccomp supervisor's event from a cell (its denials are recorded by the runtime). */
  readonly onSeccomp?: (cell: CellProcess, event: SeccompEvent) => void;
}

/** The native helpers every sandbox needs, under the package root. */
export function nativeHelpers(packageRoot: string): { readonly launcher: string; readonly seccompExec: string; readonly hostile: string } {
  const dir = join(packageRoot, "build", "native");
  return { launcher: join(dir, "cordon-launch"), seccompExec: join(dir, "cordon-seccomp-exec"), hostile: join(dir, "hostile") };
}

export interface Layers {
  readonly bwrap: string;
  readonly seccomp: string;
  readonly cgroups: string;
}

/** Checks every layer a cell needs on this host; throws TierUnavailable naming the first gap. */
export function checkCellLayers(packageRoot: string): Layers {
  const native = nativeHelpers(packageRoot);
  for (const [name, path] of Object.entries(native)) {
    if (!existsSync(path)) throw new TierUnavailable("wasm", `build/native's ${name} is missing (run npm run build)`);
  }
  const seccomp = checkSeccompWorks({ supervised: { launcher: native.launcher, helper: native.seccompExec } });
  if (!seccomp.ok) throw new TierUnavailable("wasm", `bubblewrap with user namespaces and supervised seccomp: ${seccomp.missing}`);
  const cg = detectCgroups();
  for (const name of ["memory", "pids"] as const) {
    const c = cg.controllers[name];
    if (!c.available) throw new TierUnavailable("wasm", `cgroup ${name} controller: ${c.reason}`);
  }
  return { bwrap: "bwrap: user, pid, net, ipc, uts, cgroup namespaces", seccomp: "seccomp: classic BPF with a user-notification listener; every denial recorded by the supervisor", cgroups: "cgroup v1: memory, pids, cpu" };
}

/** Sessions a per-role cell's memory limit is sized for. */
export const PER_ROLE_SESSION_BUDGET = 16;

/** How long after a hand-out the pool starts refilling. */
const REFILL_DELAY_MS = 5;

export class CellFactory {
  private readonly seccomp = compileFilter(DEFAULT_RULES);
  private readonly pools = new Map<string, CellProcess[]>();
  private readonly filling = new Map<string, Set<Promise<void>>>();
  private readonly roleCells = new Map<string, Promise<CellProcess>>();
  private nextUid = 0;
  private closed = false;
  readonly layers: Layers;

  constructor(private readonly opts: CellFactoryOptions) {
    this.layers = checkCellLayers(opts.packageRoot);
  }

  allocUid(): number {
    const base = this.opts.uidBase ?? 200_000;
    const count = this.opts.uidCount ?? 60_000;
    const uid = base + (this.nextUid % count);
    this.nextUid += 1;
    return uid;
  }

  /** What the process tier needs to run a call under the same layers as a cell. */
  processSandbox(): ProcessSandbox {
    return {
      launcher: nativeHelpers(this.opts.packageRoot).launcher,
      seccompExec: nativeHelpers(this.opts.packageRoot).seccompExec,
      seccomp: this.seccomp,
      allocUid: () => this.allocUid(),
      cgroup: (id, limits) => CellCgroup.create(id, limits, { parent: cgroupParentFor() }),
    };
  }

  /** Same tools, same bytes, same limits and grants: the same role template. */
  private poolKey(templates: readonly ToolTemplate[]): string {
    const hash = createHash("sha256");
    for (const t of templates) hash.update(JSON.stringify([t.name, t.abi, t.limits, t.grants])).update(t.moduleBytes);
    return hash.digest("hex");
  }

  /** A cell made from the role's template: started, in its cgroup, modules compiled, sealed. */
  private async prepare(templates: readonly ToolTemplate[], mode: CellMode = "per-session"): Promise<CellProcess> {
    const cell = await this.start(templates, mode);
    try {
      await cell.load(layoutCell(templates).templates, mode);
      return cell;
    } catch (err) {
      await cell.destroy();
      throw err;
    }
  }

  private start(templates: readonly ToolTemplate[], mode: CellMode): Promise<CellProcess> {
    const layout = layoutCell(templates);
    const uid = this.allocUid();
    const id = randomUUID();
    const cellArgs = [id, this.opts.launchPublicKeyB64];
    return CellProcess.start({
      id,
      plan: cellPlan({ packageRoot: this.opts.packageRoot, nodePath: this.opts.nodePath ?? process.execPath, binds: layout.binds, seccomp: supervisedSeccomp(nativeHelpers(this.opts.packageRoot).seccompExec, true), heapMiB: 64, cellArgs }),
      launcher: nativeHelpers(this.opts.packageRoot).launcher,
      uid,
      gid: uid,
      seccomp: this.seccomp,
      cgroup: (id) => CellCgroup.create(id, { memoryBytes: this.cellMemory(templates, mode), pids: this.opts.cellPids ?? 64 }, { parent: cgroupParentFor() }),
      ...(this.opts.onViolation === undefined ? {} : { onViolation: this.opts.onViolation }),
      ...(this.opts.onSeccomp === undefined ? {} : { onSeccomp: this.opts.onSeccomp }),
      ...(this.opts.onStage === undefined ? {} : { onStage: this.opts.onStage }),
      onExit: (cell, exited) => {
        for (const pool of this.pools.values()) {
          const at = pool.indexOf(cell);
          if (at >= 0) pool.splice(at, 1);
        }
        this.opts.onExit?.(cell, exited);
      },
    });
  }

  /**
   * Node's own heap and code plus every tool's Wasm memory cap; a per-role cell holds that for
   * up to PER_ROLE_SESSION_BUDGET sessions at once (beyond it the cgroup's OOM killer ends the
   * cell, and every session in it: the per-role trade-off).
   */
  private cellMemory(templates: readonly ToolTemplate[], mode: CellMode): number {
    const wasm = templates.reduce((sum, t) => sum + t.limits.memoryBytes, 0);
    return (this.opts.cellMemoryBytes ?? 192 * 1024 * 1024) + wasm * (mode === "per-role" ? PER_ROLE_SESSION_BUDGET : 1);
  }

  /**
   * Per-role granularity: the one cell of this role template, started on first use and again
   * after it dies. Sessions open their own instances in it (CellProcess.open).
   */
  roleCell(templates: readonly ToolTemplate[]): Promise<CellProcess> {
    const key = this.poolKey(templates);
    const existing = this.roleCells.get(key);
    if (existing !== undefined) {
      return existing.then(
        (cell) => (cell.alive ? cell : this.replaceRoleCell(key, templates)),
        () => this.replaceRoleCell(key, templates),
      );
    }
    return this.replaceRoleCell(key, templates);
  }

  private replaceRoleCell(key: string, templates: readonly ToolTemplate[]): Promise<CellProcess> {
    const started = this.prepare(templates, "per-role");
    this.roleCells.set(key, started);
    started.catch(() => this.roleCells.delete(key));
    return started;
  }

  /**
   * Fills the warm pool for a role's templates (blank cells with the role's binds), starting
   * the missing cells in parallel; resolves when the pool is full, including fills already in
   * flight, so a caller that awaits it sees a full pool.
   */
  async warm(templates: readonly ToolTemplate[]): Promise<void> {
    const key = this.poolKey(templates);
    const pool = this.pools.get(key) ?? [];
    this.pools.set(key, pool);
    const inflight = this.filling.get(key) ?? new Set<Promise<void>>();
    this.filling.set(key, inflight);
    // Count cells still being prepared too, so concurrent refills never overfill the pool.
    while (!this.closed && pool.length + inflight.size < (this.opts.poolSize ?? 0)) {
      const fill: Promise<void> = this.prepare(templates)
        .then(async (cell) => {
          if (this.closed) await cell.destroy();
          else pool.push(cell);
        })
        .finally(() => inflight.delete(fill));
      inflight.add(fill);
    }
    await Promise.all([...inflight]);
  }

  /** A cell assigned to `session`, loaded with the role's templates and sealed. */
  /** `launch` signs the session's launch statement for the cell it gets; the cell checks it. */
  async assign(session: string, templates: readonly ToolTemplate[], launch: (cellId: string) => string): Promise<{ cell: CellProcess; tools: string[] }> {
    const key = this.poolKey(templates);
    const pooled = this.pools.get(key)?.shift();
    const cell = pooled !== undefined && pooled.alive ? pooled : await this.prepare(templates);
    // The refill (spawn, cgroup set-up: synchronous work here) waits until the session has its
    // cell, so a session never pays for the next one.
    if (pooled !== undefined && (this.opts.poolSize ?? 0) > 0) setTimeout(() => void this.warm(templates).catch(() => undefined), REFILL_DELAY_MS).unref();
    try {
      await cell.bind(session, launch(cell.id));
      return { cell, tools: [...(cell.tools ?? [])] };
    } catch (err) {
      await cell.destroy();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const roleCells = await Promise.all([...this.roleCells.values()].map((p) => p.catch(() => null)));
    this.roleCells.clear();
    const all = [...this.pools.values()].flat().concat(roleCells.filter((c): c is CellProcess => c !== null));
    this.pools.clear();
    await Promise.all(all.map((c) => c.destroy()));
  }

  /** Removes this control plane's (now empty) cgroup parent; call after every cell is gone. */
  releaseCgroups(): void {
    removeParent(cgroupParentFor());
  }
}
