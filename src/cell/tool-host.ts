// Where a session's tools run: a sandboxed cell process (the default), or, for development
// only, the engine inside the control plane's own process.
import type { CallOutcome, ToolTemplate } from "../wasm/engine/types.js";
import type { CallOptions } from "../wasm/engine/wasm-cell.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import type { CellProcess } from "./cell-process.js";

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

export class CellHost implements ToolHost {
  readonly isolation = "cell";
  constructor(
    private readonly cell: CellProcess,
    private readonly tools: readonly string[],
    private readonly onLog: (tool: string, line: string) => void,
  ) {}
  toolNames(): string[] {
    return [...this.tools];
  }
  has(name: string): boolean {
    return this.tools.includes(name);
  }
  async call(name: string, input: Uint8Array, opts: CallOptions & { wallClockMs: number; maxOutputBytes: number }): Promise<CallOutcome> {
    const outcome = await this.cell.call(name, input, {
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
  close(): Promise<void> {
    return this.cell.destroy();
  }
}
