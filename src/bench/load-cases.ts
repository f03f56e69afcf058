// The pieces of a call and of loading a tool, timed apart: a reactor call (no instantiation),
// instantiating an already-compiled instrumented module, compiling, and instrumenting.
import { instrument } from "../wasm/module/index.js";
import type { WasmCell } from "../wasm/engine/wasm-cell.js";
import { WasiHost } from "../wasm/wasi/index.js";
import type { Guest } from "./guests.js";
import { timeSync, type Plan } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

const REACTOR_PLAN: Plan = { warmup: 500, iterations: 4000 };
const INSTANTIATE_PLAN: Plan = { warmup: 300, iterations: 3000 };
const COMPILE_PLAN: Plan = { warmup: 5, iterations: 60 };
const INSTRUMENT_PLAN: Plan = { warmup: 10, iterations: 100 };
const NOTES_ADDED = 5;

/** The caps compileTool derives from a policy's limits; generous, so no guest is refused. */
const INSTRUMENT_OPTIONS = { maxBytes: 8 * 1024 * 1024, maxMemoryPages: 256, maxTableElements: 100_000, maxFunctions: 20_000 };

const encode = (s: string) => new TextEncoder().encode(s);

export function benchReactor(cell: WasmCell): Row {
  const base = { id: "reactor.notes.list", section: "reactor", label: `notes {"op":"list"} after ${NOTES_ADDED} adds (instance persists)` } as const;
  try {
    for (let i = 0; i < NOTES_ADDED; i++) {
      const r = cell.call("notes", encode(JSON.stringify({ op: "add", text: `benchmark note ${i}` })));
      if (!r.ok) throw new Error(`notes add failed: ${r.error.code}`);
    }
    const list = encode('{"op":"list"}');
    const check = cell.call("notes", list);
    const listed = check.ok ? (JSON.parse(new TextDecoder().decode(check.output)) as { notes?: unknown[] }).notes?.length : undefined;
    if (listed !== NOTES_ADDED) throw new Error(`notes list returned ${listed ?? "an error"} notes, expected ${NOTES_ADDED}`);
    const stats = timeSync(REACTOR_PLAN, () => {
      const r = cell.call("notes", list);
      if (!r.ok) throw new Error(`notes list failed: ${r.error.code}`);
    });
    return { ...base, kind: "timing", stats, note: "WasmCell.call on a reactor: alloc + handle_message + get_response, no instantiation" };
  } catch (err) {
    return failedRow(base, err);
  }
}

/** Every import an instrumented guest may have, as no-ops: instantiation links, nothing runs. */
function stubImports(): WebAssembly.Imports {
  const wasi = new WasiHost({
    args: ["bench"], env: {}, preopens: [], stdin: new Uint8Array(0), stdoutCap: 4096, stderrCap: 4096,
    clock: true, random: true, maxOpenFiles: 16, onDenied: () => undefined,
  });
  return {
    wasi_snapshot_preview1: wasi.imports(),
    cordon: { log: () => undefined },
    env: { abort: () => undefined },
    cordon_meter: { refill: () => undefined, grow: () => -1 },
  };
}

export function benchInstantiate(guests: readonly Guest[]): Row[] {
  const imports = stubImports();
  return guests.map((g) => {
    const base = { id: `load.instantiate.${g.name}`, section: "load", label: `instantiate ${g.name} (instrumented, compiled once)` } as const;
    try {
      const module = new WebAssembly.Module(instrument(g.bytes, INSTRUMENT_OPTIONS).bytes);
      const stats = timeSync(INSTANTIATE_PLAN, () => void new WebAssembly.Instance(module, imports));
      return { ...base, kind: "timing", stats, note: "new WebAssembly.Instance(module, imports) alone: memory, globals, data segments, import linking" };
    } catch (err) {
      return failedRow(base, err);
    }
  });
}

/**
 * A copy of `bytes` with a trailing custom section holding `i`: a different module to V8, so
 * its compiled-module cache cannot serve a compile from an earlier iteration.
 */
function uniqueCopy(bytes: Uint8Array, i: number): Uint8Array {
  const name = encode("bench");
  const out = new Uint8Array(bytes.length + 2 + 1 + name.length + 4);
  out.set(bytes);
  let p = bytes.length;
  out[p++] = 0; // custom section
  out[p++] = 1 + name.length + 4; // section size (< 128: a one-byte LEB128)
  out[p++] = name.length;
  out.set(name, p);
  p += name.length;
  new DataView(out.buffer).setUint32(p, i >>> 0, true);
  return out;
}

export function benchCompile(guests: readonly Guest[]): Row[] {
  const rows: Row[] = [];
  let serial = 0;
  for (const g of guests) {
    const base = { id: `load.compile.${g.name}`, section: "load", label: `compile ${g.name} (instrumented, ${g.bytes.length} B original)` } as const;
    try {
      const instrumented = instrument(g.bytes, INSTRUMENT_OPTIONS).bytes;
      const stats = timeSync(COMPILE_PLAN, () => void new WebAssembly.Module(uniqueCopy(instrumented, serial++)));
      rows.push({ ...base, kind: "timing", stats, note: `new WebAssembly.Module, ${instrumented.length} B; V8's module cache defeated per iteration` });
    } catch (err) {
      rows.push(failedRow(base, err));
    }
    const orig = { id: `load.compile-original.${g.name}`, section: "load", label: `compile ${g.name} (original bytes)` } as const;
    try {
      const stats = timeSync(COMPILE_PLAN, () => void new WebAssembly.Module(uniqueCopy(g.bytes, serial++)));
      rows.push({ ...orig, kind: "timing", stats });
    } catch (err) {
      rows.push(failedRow(orig, err));
    }
  }
  return rows;
}

export function benchInstrument(guests: readonly Guest[]): Row[] {
  return guests.map((g) => {
    const base = { id: `load.instrument.${g.name}`, section: "load", label: `instrument() ${g.name}` } as const;
    try {
      const stats = timeSync(INSTRUMENT_PLAN, () => void instrument(g.bytes, INSTRUMENT_OPTIONS));
      return { ...base, kind: "timing", stats, note: "validate + parse + cap limits + inject metering (pure TypeScript)" };
    } catch (err) {
      return failedRow(base, err);
    }
  });
}
