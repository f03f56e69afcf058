// The wasm tier's hosts: a session's Wasm tools in a sandboxed cell of its own (CellHost), its
// instance set in its role's shared cell (RoleCellHost), or, for development only, the engine
// inside the control plane's own process (InProcessHost).
import type { HostCallOptions, ToolHost } from "../tier/tool-host.js";
import type { CallOutcome, ToolTemplate } from "../wasm/engine/types.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import type { CellProcess } from "./cell-process.js";

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
  call(name: string, input: Uint8Array, opts: HostCallOptions): Promise<CallOutcome> {
    return Promise.resolve(this.cell.call(name, input, opts.fuelOverride === undefined ? {} : { fuelOverride: opts.fuelOverride }));
  }
  close(): Promise<void> {
    this.cell.close();
    return Promise.resolve();
  }
}

/** Margin past a tool's own deadline before the cell is presumed hung and killed. */
export const BACKSTOP_GRACE_MS = 2_000;

/** A session's Wasm tools in a cell. `session` names the instance set in a per-role cell, else null. */
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
  async call(name: string, input: Uint8Array, opts: HostCallOptions): Promise<CallOutcome> {
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
