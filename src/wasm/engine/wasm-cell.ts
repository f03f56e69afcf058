// A WasmCell hosts one role's tools for one session. It owns everything it uses (compiled
// modules, reactor instances, open files); there is no module-level state, so the same class
// runs in-process or inside a sandboxed per-session process.
import { GuestExit, GuestTrap, LimitExceeded, ToolNotFound } from "../../errors.js";
import { WasiExit, WasiHost, type Preopen, type WasiDenial } from "../wasi/index.js";
import { CallContext } from "./call-context.js";
import { compileTool, type CompiledTool } from "./compile-tool.js";
import { toGuestError } from "./guest-errors.js";
import type { CallHooks, CallOutcome, CellEvents, ToolTemplate } from "./types.js";

const STDERR_CAP = 16 * 1024;

interface Reactor {
  readonly instance: WebAssembly.Instance;
  readonly wasi: WasiHost;
  /** The call currently running; host imports route their effects to it. */
  readonly holder: { ctx: CallContext };
}

export interface CallOptions {
  /** Probes only: replace the tool's fuel budget (e.g. to prove the deadline on its own). */
  readonly fuelOverride?: number;
  /** What the call may reach beyond its instance: progress, sampling, the cancellation check. */
  readonly hooks?: CallHooks;
}

function wasiOptions(t: ToolTemplate, stdin: Uint8Array, onDenied: (d: WasiDenial) => void) {
  const preopens: Preopen[] = [];
  const env: Record<string, string> = {};
  let clock = false;
  let random = false;
  for (const g of t.grants) {
    switch (g.kind) {
      case "fs.read":
      case "fs.write":
        preopens.push({ guestPath: g.mount, hostPath: g.hostPath, writable: g.kind === "fs.write", enforcer: "wasi-jail" });
        break;
      case "env":
        env[g.name] = g.value;
        break;
      case "clock":
        clock = true;
        break;
      case "random":
        random = true;
        break;
      case "log":
      case "progress":
      case "sampling":
      case "exec": // process tier only; the schema refuses it on a Wasm tool
        break;
    }
  }
  return {
    args: [t.name],
    env,
    preopens,
    stdin,
    stdoutCap: t.limits.outputBytes,
    stderrCap: STDERR_CAP,
    clock,
    random,
    maxOpenFiles: t.limits.maxOpenFiles,
    onDenied,
  };
}

function importsFor(wasi: WasiHost, holder: { ctx: CallContext }): WebAssembly.Imports {
  return {
    wasi_snapshot_preview1: wasi.imports(),
    cordon: {
      log: (p: number, l: number) => holder.ctx.log(p, l),
      progress: (done: number, total: number) => holder.ctx.progress(done, total),
      sample: (req: number, reqLen: number, out: number, outCap: number) => holder.ctx.sample(req, reqLen, out, outCap),
    },
    env: { abort: (m: number) => holder.ctx.abort(m) },
    cordon_meter: { refill: () => holder.ctx.meter.refill(), grow: (d: number) => holder.ctx.grow(d) },
  };
}

function exportsOf(instance: WebAssembly.Instance) {
  const e = instance.exports;
  const memory = e["__cordon_memory"] instanceof WebAssembly.Memory ? e["__cordon_memory"] : new WebAssembly.Memory({ initial: 0, maximum: 0 });
  const fuel = e["__cordon_fuel"];
  if (!(fuel instanceof WebAssembly.Global)) throw new GuestTrap("module is not metered", null, []);
  const start = e["__cordon_start"];
  return { memory, fuel, start: typeof start === "function" ? (start) : undefined };
}

export class WasmCell {
  private readonly tools = new Map<string, CompiledTool>();
  private readonly reactors = new Map<string, Reactor>();
  private closed = false;

  /** Compiles every template up front; throws ToolRefused for the first bad one (nothing loads). */
  constructor(templates: readonly ToolTemplate[], private readonly events: CellEvents = {}) {
    for (const t of templates) this.tools.set(t.name, compileTool(t));
  }

  /**
   * Another session over the same compiled modules (per-role cells): it shares nothing that
   * holds state. Reactor instances, their memories and open files are its own.
   */
  fork(events: CellEvents = this.events): WasmCell {
    const other = new WasmCell([], events);
    for (const [name, tool] of this.tools) other.tools.set(name, tool);
    return other;
  }

  toolNames(): string[] {
    return [...this.tools.keys()];
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  call(name: string, input: Uint8Array, opts: CallOptions = {}): CallOutcome {
    const tool = this.tools.get(name);
    if (tool === undefined || this.closed) throw new ToolNotFound(name);
    const ctx = new CallContext(name, tool.template.limits, (t, line) => this.events.onLog?.(t, line), opts.fuelOverride, opts.hooks);
    const started = performance.now();
    let memory: WebAssembly.Memory | undefined;
    const finish = (result: { ok: true; output: Uint8Array } | { ok: false; error: unknown }): CallOutcome => {
      const stats = {
        fuelUsed: ctx.meter.used(),
        wallUs: Math.round((performance.now() - started) * 1000),
        outputBytes: result.ok ? result.output.byteLength : 0,
        memoryBytes: memory?.buffer.byteLength ?? 0,
      };
      const base = { logs: ctx.logs, denials: ctx.denials.summary(), stats };
      if (result.ok) return { ...base, ok: true, output: result.output };
      const { error, enforcer } = toGuestError(result.error);
      return { ...base, ok: false, error, enforcer };
    };
    if (input.byteLength > tool.template.limits.inputBytes) {
      return finish({ ok: false, error: new LimitExceeded("input", input.byteLength, tool.template.limits.inputBytes) });
    }
    if (tool.template.abi === "reactor") {
      const r = this.callReactor(tool, input, ctx);
      memory = ctx.memory;
      return finish(r);
    }
    const wasi = new WasiHost(wasiOptions(tool.template, input, ctx.denials.onWasiDenied));
    try {
      const instance = new WebAssembly.Instance(tool.module, importsFor(wasi, { ctx }));
      const ex = exportsOf(instance);
      memory = ctx.memory = ex.memory;
      wasi.bindMemory(ex.memory);
      ctx.meter.start(ex.fuel);
      ex.start?.();
      (instance.exports["_start"] as () => void)();
      return finish({ ok: true, output: wasi.stdout() });
    } catch (err) {
      if (err instanceof WasiExit) {
        if (err.code === 0) return finish({ ok: true, output: wasi.stdout() });
        const exit = new GuestExit(err.code);
        exit.output = wasi.stdout();
        return finish({ ok: false, error: exit });
      }
      return finish({ ok: false, error: err });
    } finally {
      wasi.close();
    }
  }

  private reactorFor(tool: CompiledTool, ctx: CallContext): Reactor {
    const existing = this.reactors.get(tool.template.name);
    if (existing !== undefined) {
      existing.holder.ctx = ctx;
      ctx.memory = exportsOf(existing.instance).memory;
      return existing;
    }
    const holder = { ctx };
    const wasi = new WasiHost(wasiOptions(tool.template, new Uint8Array(0), (d) => holder.ctx.denials.add(d)));
    try {
      const instance = new WebAssembly.Instance(tool.module, importsFor(wasi, holder));
      const ex = exportsOf(instance);
      ctx.memory = ex.memory;
      wasi.bindMemory(ex.memory);
      ctx.meter.start(ex.fuel);
      ex.start?.();
      const init = instance.exports["_initialize"];
      if (typeof init === "function") (init)();
      const reactor: Reactor = { instance, wasi, holder };
      this.reactors.set(tool.template.name, reactor);
      return reactor;
    } catch (err) {
      wasi.close();
      throw err;
    }
  }

  private callReactor(tool: CompiledTool, input: Uint8Array, ctx: CallContext): { ok: true; output: Uint8Array } | { ok: false; error: unknown } {
    try {
      const r = this.reactorFor(tool, ctx);
      const ex = exportsOf(r.instance);
      ctx.meter.start(ex.fuel);
      const e = r.instance.exports as Record<string, (...a: number[]) => number>;
      const ptr = this.guestAlloc(e, ex.memory, input.byteLength);
      new Uint8Array(ex.memory.buffer, ptr, input.byteLength).set(input);
      const n = e["handle_message"]!(ptr, input.byteLength);
      if (n < 0) throw new GuestExit(-n);
      const max = tool.template.limits.outputBytes;
      if (n > max) throw new LimitExceeded("output", n, max);
      const out = this.guestAlloc(e, ex.memory, n);
      const written = e["get_response"]!(out, n);
      if (written < 0 || written > n) throw new GuestTrap("get_response returned an invalid length", "get_response", []);
      return { ok: true, output: new Uint8Array(ex.memory.buffer, out, written).slice() };
    } catch (err) {
      // A trapped or limited reactor may hold corrupt state: drop it; the next call starts fresh.
      this.dropReactor(tool.template.name);
      return { ok: false, error: err };
    }
  }

  private guestAlloc(e: Record<string, (...a: number[]) => number>, memory: WebAssembly.Memory, len: number): number {
    const ptr = e["cordon_alloc"]!(len) >>> 0;
    if (ptr === 0 && len > 0) throw new GuestTrap("cordon_alloc returned null", "cordon_alloc", []);
    if (ptr + len > memory.buffer.byteLength) throw new GuestTrap("cordon_alloc returned an out-of-bounds buffer", "cordon_alloc", []);
    return ptr;
  }

  private dropReactor(name: string): void {
    this.reactors.get(name)?.wasi.close();
    this.reactors.delete(name);
  }

  /** Ends the session: reactor state and open files are released; the cell serves nothing more. */
  close(): void {
    this.closed = true;
    for (const name of [...this.reactors.keys()]) this.dropReactor(name);
  }
}
