// Where a session's tools run: a sandboxed cell process (the default), or, for development
// only, the engine inside the control plane's own process.
import type { CallOutcome, ToolTemplate } from "../wasm/engine/types.js";
import type { CallOptions } from "../wasm/engine/wasm-cell.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import type { CellProcess } from "./cell-process.js";
import type { ProcessHost } from "../process/process-host.js";
import { TierUnavailable } from "../errors.js";

export type Isolation = "cell" | "in-process";

export interface ToolHost {
  readonly isolation: Isolation;
  toolNames(): string[];
  has(name: string): boolean;
  call(name: string, input: Uint8Array, opts: CallOptions & { readonly wallClockMs: number; readonly maxOutputBytes: number }): Promise<CallOutcome>;
  close(): Promise<void>;
}

/** Development only: guest code runs in this process, with V8 as the only boundary. */
export class InProcessHost implements ToolHost {
  readonly isolation = "in-process";
  private readonly cell: WasmCell;
  constructor(templates: readonly ToolTemplate[], onLog: (tool: string, line: string) => void) {
    this.cell = new WasmCell(templates, { onLog });
  }
  toolNames(): string[] {
    return this.cell.toolNames();
  }
  has(name: string): boolean {
    return this.cell.has(name);
  }
  call(name: string, input: Uint8Array, opts: CallOptions): Promise<CallOutcome> {
    return Promise.resolve(this.cell.call(name, input, opts));
  }
  close(): Promise<void> {
    this.cell.close();
    return Promise.resolve();
  }
}

/** Margin past a tool's own deadline before the cell is presumed hung and killed. */
export const BACKSTOP_GRACE_MS = 2_000;

/**
 * A session's Wasm tools in a cell: its own (CellHost), or its instance set in its role's
 * shared cell (RoleCellHost). `session` names the instance set in a per-role cell, else null.
 */
abstract class CellToolHost implements ToolHost {
  readonly isolation = "cell";
  constructor(
    protected readonly cell: CellProcess,
    protected readonly session: string | null,
    private readonly tools: readonly string[],
    private readonly onLog: (tool: string, line: string) => void,
  ) {}
  toolNames(): string[] {
    return [...this.tools];
  }
  has(name: string): boolean {
    return this.tools.includes(name);
  }
  /** One call, with the backstop deadline; guest log lines go to `onLog`. */
  async call(name: string, input: Uint8Array, opts: CallOptions & { wallClockMs: number; maxOutputBytes: number }): Promise<CallOutcome> {
    const outcome = await this.cell.call(name, input, {
      ...(this.session === null ? {} : { session: this.session }),
      backstopMs: opts.wallClockMs + BACKSTOP_GRACE_MS,
      maxOutputBytes: opts.maxOutputBytes,
      ...(opts.fuelOverride === undefined ? {} : { fuelOverride: opts.fuelOverride }),
    });
    for (const line of outcome.logs) this.onLog(name, line);
    return outcome;
  }
  get process(): CellProcess {
    return this.cell;
  }
  abstract close(): Promise<void>;
}

/** Per-session granularity: the session's own cell; ending the session kills it. */
export class CellHost extends CellToolHost {
  constructor(cell: CellProcess, tools: readonly string[], onLog: (tool: string, line: string) => void) {
    super(cell, null, tools, onLog);
  }
  close(): Promise<void> {
    return this.cell.destroy();
  }
}

/** Per-role granularity: the role's shared cell, with this session's own instances in it. */
export class RoleCellHost extends CellToolHost {
  constructor(cell: CellProcess, private readonly sessionId: string, tools: readonly string[], onLog: (tool: string, line: string) => void) {
    super(cell, sessionId, tools, onLog);
  }
  /** Drops this session's instances; the role's cell lives on for its other sessions. */
  close(): Promise<void> {
    return this.cell.end(this.sessionId).catch(() => undefined);
  }
}

/**
 * A session's tools across tiers: Wasm tools in the session's cell (or in-process), process
 * tools each call in its own sandbox. With no OS sandbox, a process tool still exists for the
 * session but every call is refused with TierUnavailable: never run unsandboxed.
 */
export class SessionHost implements ToolHost {
  constructor(
    private readonly wasm: ToolHost | null,
    private readonly processes: ProcessHost | null,
    private readonly unavailable: readonly string[] = [],
  ) {}
  get isolation(): Isolation {
    return this.wasm?.isolation ?? (this.processes === null ? "in-process" : "cell");
  }
  toolNames(): string[] {
    return [...(this.wasm?.toolNames() ?? []), ...(this.processes?.toolNames() ?? []), ...this.unavailable];
  }
  has(name: string): boolean {
    return (this.wasm?.has(name) ?? false) || (this.processes?.has(name) ?? false) || this.unavailable.includes(name);
  }
  call(name: string, input: Uint8Array, opts: CallOptions & { readonly wallClockMs: number; readonly maxOutputBytes: number }): Promise<CallOutcome> {
    if (this.processes?.has(name) === true) return this.processes.call(name, input);
    if (this.unavailable.includes(name)) {
      const error = new TierUnavailable("process", "no OS sandbox (bubblewrap, seccomp, cgroups) on this host: process tools never run unsandboxed");
      return Promise.resolve({ ok: false, error, enforcer: null, logs: [], denials: [], stats: { fuelUsed: 0, wallUs: 0, outputBytes: 0, memoryBytes: 0 } });
    }
    if (this.wasm === null) return Promise.reject(new Error(`tool ${name} is not held by this session`));
    return this.wasm.call(name, input, opts);
  }
  /** The session's cell, when its Wasm tools run in one. */
  get cell(): CellHost | null {
    return this.wasm instanceof CellHost ? this.wasm : null;
  }
  /** Where the session's Wasm tools run. */
  get wasmHost(): ToolHost | null {
    return this.wasm;
  }
  get processHost(): ProcessHost | null {
    return this.processes;
  }
  async close(): Promise<void> {
    await Promise.all([this.wasm?.close(), this.processes?.close()]);
  }
}

/** The session's cell, whichever host wraps it. */
export function cellOf(host: ToolHost): CellHost | null {
  if (host instanceof CellHost) return host;
  if (host instanceof SessionHost) return host.cell;
  return null;
}
