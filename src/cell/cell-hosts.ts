// The wasm tier's hosts: a session's Wasm tools in a sandboxed cell of its own (CellHost), its
// instance set in its role's shared cell (RoleCellHost), or, for development only, the engine
// inside the control plane's own process (InProcessHost). Each also serves the session's
// resource roots (the granted mounts of its tools) through the jail where its tools run.
import { CallCancelled } from "../errors.js";
import type { Grant } from "../types/tool.js";
import type { HostCallOptions, ResourceFiles, ToolHost } from "../tier/tool-host.js";
import type { CallOutcome, ToolTemplate } from "../wasm/engine/types.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import { JailedFiles, type JailedResult } from "../wasm/wasi/jailed-files.js";
import type { CellCallLink, CellProcess } from "./cell-process.js";
import { listFromWire, readFromWire, statFromWire } from "./resource-wire.js";
import { WireInvalid } from "./wire.js";

/** A call's outcome when it was cancelled before anything ran. */
function cancelledOutcome(stoppedBy: string): CallOutcome {
  return { ok: false, error: new CallCancelled("before-run", stoppedBy), enforcer: null, logs: [], denials: [], stats: { fuelUsed: 0, wallUs: 0, outputBytes: 0, memoryBytes: 0 } };
}

const has = (grants: readonly Grant[] | undefined, kind: Grant["kind"]): boolean => grants?.some((g) => g.kind === kind) ?? false;

/** Development only: guest code runs in this process, with V8 as the only boundary. */
export class InProcessHost implements ToolHost {
  readonly isolation = "in-process";
  private readonly cell: WasmCell;
  readonly files: ResourceFiles;
  constructor(private readonly templates: readonly ToolTemplate[], onLog: (tool: string, line: string) => void) {
    this.cell = new WasmCell(templates, { onLog });
    const filesOf = (tool: string, mount: string): JailedFiles | null => {
      const g = templates.find((t) => t.name === tool)?.grants.find((x) => (x.kind === "fs.read" || x.kind === "fs.write") && x.mount === mount);
      return g === undefined || (g.kind !== "fs.read" && g.kind !== "fs.write") ? null : new JailedFiles(g.hostPath, g.mount, "resource-jail");
    };
    const absent = <T>(): JailedResult<T> => ({ ok: false, denied: false, code: "ERR_RESOURCE_NOT_FOUND" });
    this.files = {
      list: (tool, mount, dir, depth, dirs) => Promise.resolve(filesOf(tool, mount)?.list(dir, depth, dirs) ?? absent()),
      read: (tool, mount, path, maxBytes) => Promise.resolve(filesOf(tool, mount)?.read(path, maxBytes) ?? absent()),
      stat: (tool, mount, path) => Promise.resolve(filesOf(tool, mount)?.stat(path) ?? absent()),
    };
  }
  toolNames(): string[] {
    return this.cell.toolNames();
  }
  has(name: string): boolean {
    return this.cell.has(name);
  }
  /**
   * The guest runs synchronously on the control plane's own thread, so a cancellation can only
   * be seen before it starts; sampling needs the event loop and is refused (-2) here.
   */
  call(name: string, input: Uint8Array, opts: HostCallOptions): Promise<CallOutcome> {
    if (opts.signal?.aborted === true) return Promise.resolve(cancelledOutcome("cancelled before it ran (in-process)"));
    const grants = this.templates.find((t) => t.name === name)?.grants;
    const hooks = { ...(has(grants, "progress") && opts.onProgress !== undefined ? { progress: opts.onProgress } : {}) };
    return Promise.resolve(this.cell.call(name, input, { hooks, ...(opts.fuelOverride === undefined ? {} : { fuelOverride: opts.fuelOverride }) }));
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
  readonly files: ResourceFiles;
  constructor(
    protected readonly cell: CellProcess,
    protected readonly session: string | null,
    private readonly tools: readonly string[],
    private readonly onLog: (tool: string, line: string) => void,
    /** Each tool's grants: which frames its calls may send. */
    private readonly grants: ReadonlyMap<string, readonly Grant[]>,
  ) {
    const ask = (m: Parameters<CellProcess["resource"]>[0]) => this.cell.resource(this.session === null ? m : { ...m, session: this.session });
    // A cell that answers out of shape is hostile: it is killed, and the request fails.
    const checked = async <T>(answer: Promise<unknown>, decode: (v: never) => T): Promise<T> => {
      try {
        return decode((await answer) as never);
      } catch (err) {
        if (err instanceof WireInvalid) await this.cell.destroy();
        throw err;
      }
    };
    this.files = {
      list: (tool, mount, dir, depth, dirs) => checked(ask({ op: dirs ? "list-dirs" : "list", tool, mount, path: dir, depth, maxBytes: 0 }), listFromWire),
      read: (tool, mount, path, maxBytes) => checked(ask({ op: "read", tool, mount, path, depth: 0, maxBytes }), (v) => readFromWire(v, maxBytes)),
      stat: (tool, mount, path) => checked(ask({ op: "stat", tool, mount, path, depth: 0, maxBytes: 0 }), statFromWire),
    };
  }
  toolNames(): string[] {
    return [...this.tools];
  }
  has(name: string): boolean {
    return this.tools.includes(name);
  }
  /** One call, with the backstop deadline; guest log lines go to `onLog`. */
  async call(name: string, input: Uint8Array, opts: HostCallOptions): Promise<CallOutcome> {
    const grants = this.grants.get(name);
    const link: CellCallLink = {
      may: { progress: has(grants, "progress"), sample: has(grants, "sampling") },
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
      ...(opts.onSample === undefined ? {} : { onSample: opts.onSample }),
    };
    const outcome = await this.cell.call(name, input, {
      ...(this.session === null ? {} : { session: this.session }),
      backstopMs: opts.wallClockMs + BACKSTOP_GRACE_MS,
      maxOutputBytes: opts.maxOutputBytes,
      ...(opts.fuelOverride === undefined ? {} : { fuelOverride: opts.fuelOverride }),
      link,
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
  constructor(cell: CellProcess, tools: readonly string[], onLog: (tool: string, line: string) => void, grants: ReadonlyMap<string, readonly Grant[]> = new Map()) {
    super(cell, null, tools, onLog, grants);
  }
  close(): Promise<void> {
    return this.cell.destroy();
  }
}

/** Per-role granularity: the role's shared cell, with this session's own instances in it. */
export class RoleCellHost extends CellToolHost {
  constructor(cell: CellProcess, private readonly sessionId: string, tools: readonly string[], onLog: (tool: string, line: string) => void, grants: ReadonlyMap<string, readonly Grant[]> = new Map()) {
    super(cell, sessionId, tools, onLog, grants);
  }
  /** Drops this session's instances; the role's cell lives on for its other sessions. */
  close(): Promise<void> {
    return this.cell.end(this.sessionId).catch(() => undefined);
  }
}
