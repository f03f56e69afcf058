// Starts cells in the host's OS sandbox (checked once, see sandbox/os-sandbox.ts): each with its
// role's binds, a fresh unprivileged uid, the seccomp program and its own cgroup. Keeps a small
// warm pool per role so a session does not wait for Node.
import { createHash, randomUUID } from "node:crypto";
import type { Layers, OsSandbox } from "../sandbox/os-sandbox.js";
import { supervisedSeccomp } from "../sandbox/spawn-sandboxed.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import type { ToolTemplate } from "../wasm/engine/types.js";
import { cellPlan, layoutCell } from "./cell-plan.js";
import { CellProcess, type CellExited, type CellMode, type CellStage, type Violation } from "./cell-process.js";

export interface CellFactoryOptions {
  /** The host's OS sandbox, checked. */
  readonly sandbox: OsSandbox;
  /** The control plane's per-boot launch public key (SPKI DER, base64), given to every cell. */
  readonly launchPublicKeyB64: string;
  readonly nodePath?: string;
  /** Warm cells kept per role. */
  readonly poolSize?: number;
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

/** The real cell program, under dist/. */
const DEFAULT_MAIN = "cell/main.js";

/** Sessions a per-role cell's memory limit is sized for. */
export const PER_ROLE_SESSION_BUDGET = 16;

/** How long after a hand-out the pool starts refilling. */
const REFILL_DELAY_MS = 5;

export class CellFactory {
  private readonly pools = new Map<string, CellProcess[]>();
  private readonly filling = new Map<string, Set<Promise<void>>>();
  private readonly roleCells = new Map<string, Promise<CellProcess>>();
  private closed = false;

  constructor(private readonly opts: CellFactoryOptions) {}

  get layers(): Layers {
    return this.opts.sandbox.layers;
  }

  /** Same tools, same bytes, same limits and grants, same cell program: the same role template. */
  private poolKey(templates: readonly ToolTemplate[], main = DEFAULT_MAIN): string {
    const hash = createHash("sha256").update(main).update("\0");
    for (const t of templates) hash.update(JSON.stringify([t.name, t.abi, t.limits, t.grants])).update(t.moduleBytes);
    return hash.digest("hex");
  }

  /** A cell made from the role's template: started, in its cgroup, modules compiled, sealed. */
  private async prepare(templates: readonly ToolTemplate[], mode: CellMode = "per-session", main = DEFAULT_MAIN): Promise<CellProcess> {
    const cell = await this.start(templates, mode, main);
    try {
      await cell.load(layoutCell(templates).templates, mode);
      return cell;
    } catch (err) {
      await cell.destroy();
      throw err;
    }
  }

  private start(templates: readonly ToolTemplate[], mode: CellMode, main: string): Promise<CellProcess> {
    // A program under dist/, named by code (the real cell, or a probe cell), never by input.
    if (!/^[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)*\.js$/.test(main)) throw new Error(`not a cell program: ${main}`);
    const layout = layoutCell(templates);
    const uid = this.opts.sandbox.allocUid();
    const id = randomUUID();
    const cellArgs = [id, this.opts.launchPublicKeyB64];
    return CellProcess.start({
      id,
      plan: cellPlan({ packageRoot: this.opts.sandbox.packageRoot, nodePath: this.opts.nodePath ?? process.execPath, binds: layout.binds, seccomp: supervisedSeccomp(this.opts.sandbox.seccompExec, true), heapMiB: 64, cellArgs, main }),
      launcher: this.opts.sandbox.launcher,
      uid,
      gid: uid,
      seccomp: this.opts.sandbox.seccomp,
      cgroup: (id) => this.opts.sandbox.cgroup(id, { memoryBytes: this.cellMemory(templates, mode), pids: this.opts.cellPids ?? 64 }),
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
  roleCell(templates: readonly ToolTemplate[], main = DEFAULT_MAIN): Promise<CellProcess> {
    const key = this.poolKey(templates, main);
    const existing = this.roleCells.get(key);
    if (existing !== undefined) {
      return existing.then(
        (cell) => (cell.alive ? cell : this.replaceRoleCell(key, templates, main)),
        () => this.replaceRoleCell(key, templates, main),
      );
    }
    return this.replaceRoleCell(key, templates, main);
  }

  private replaceRoleCell(key: string, templates: readonly ToolTemplate[], main: string): Promise<CellProcess> {
    const started = this.prepare(templates, "per-role", main);
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
  async assign(session: string, templates: readonly ToolTemplate[], launch: (cellId: string) => string, main = DEFAULT_MAIN): Promise<{ cell: CellProcess; tools: string[] }> {
    const key = this.poolKey(templates, main);
    const pooled = this.pools.get(key)?.shift();
    const cell = pooled !== undefined && pooled.alive ? pooled : await this.prepare(templates, "per-session", main);
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

}
