// Fuel-metering overhead: a CPU-bound guest run through WasmCell (instrumented, metered) against
// the ORIGINAL bytes instantiated directly with cordon's WasiHost (same stdin, same host code,
// no metering), and against node:wasi. The same output is required from every host.
import type { WasmCell } from "../wasm/engine/wasm-cell.js";
import { WasiExit, WasiHost } from "../wasm/wasi/index.js";
import { NodeWasiRunner } from "./baselines/node-wasi.js";
import { loopInput, type Guest } from "./guests.js";
import { settle, summarise, timeOnce } from "./measure.js";
import { failedRow, type RatioRow, type Row } from "./rows.js";

export const FUEL_RATIO_TARGET = 1.35;
/** One metered run should take about this long. */
const TARGET_RUN_MS = 150;
const WARMUP_RUNS = 2;
const ROUNDS = 20;

type Runner = (input: Uint8Array) => Uint8Array;

interface Engine {
  readonly key: string;
  readonly label: string;
  readonly run: Runner;
}

export interface FuelSubject {
  /** Also its tool name in the cell. */
  readonly guest: Guest;
  readonly title: string;
  readonly input: (n: number) => Uint8Array;
  readonly describeInput: (n: number) => string;
  /** A small N for calibration, and the largest N the guest accepts. */
  readonly startN: number;
  readonly maxN: number;
  /** Also run it under node:wasi. */
  readonly nodeWasi: boolean;
  /** Judged against FUEL_RATIO_TARGET (the tight loop is the worst case, shown, not judged). */
  readonly targeted: boolean;
}

export const cpuBurnSubject = (guest: Guest): FuelSubject => ({
  guest,
  title: "cpu-burn",
  input: (n) => new TextEncoder().encode(JSON.stringify({ n })),
  describeInput: (n) => JSON.stringify({ n }),
  startN: 2_000,
  maxN: 1_000_000_000,
  nodeWasi: true,
  targeted: true,
});

/** `guest` is one of the loops from buildLoop: tight-loop (the worst case) or mul-loop. */
export const loopSubject = (guest: Guest): FuelSubject => ({
  guest,
  title: guest.name === "tight-loop" ? "tight-loop (worst case)" : `${guest.name} (latency-bound body)`,
  input: loopInput,
  describeInput: (n) => `N=${n} (u32 LE)`,
  startN: 5_000_000,
  maxN: 0xffff_ffff,
  nodeWasi: false,
  targeted: false,
});

function cellRunner(cell: WasmCell, tool: string): Runner {
  return (input) => {
    const r = cell.call(tool, input);
    if (!r.ok) throw new Error(`${tool} failed under WasmCell: ${r.error.code} ${r.error.message}`);
    return r.output;
  };
}

/** The original bytes with cordon's own WASI host and nothing else: no instrumentation. */
function wasiHostRunner(module: WebAssembly.Module, name: string): Runner {
  return (input) => {
    const wasi = new WasiHost({
      args: [name], env: {}, preopens: [], stdin: input, stdoutCap: 1 << 20, stderrCap: 16 * 1024,
      clock: false, random: false, maxOpenFiles: 16, onDenied: () => undefined,
    });
    try {
      const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.imports() });
      const memory = instance.exports["memory"];
      if (!(memory instanceof WebAssembly.Memory)) throw new Error(`${name} exports no memory`);
      wasi.bindMemory(memory);
      try {
        (instance.exports["_start"] as () => void)();
      } catch (err) {
        if (!(err instanceof WasiExit && err.code === 0)) throw err;
      }
      return wasi.stdout();
    } finally {
      wasi.close();
    }
  };
}

/** Picks N so one run of `run` takes about TARGET_RUN_MS (two passes: V8 tiers up meanwhile). */
async function calibrate(subject: FuelSubject, run: Runner): Promise<number> {
  for (let i = 0; i < 3; i++) run(subject.input(subject.startN));
  await settle(100);
  let n = subject.startN;
  for (let pass = 0; pass < 2; pass++) {
    const input = subject.input(n);
    const ns = Math.min(timeOnce(() => run(input)), timeOnce(() => run(input)));
    n = Math.max(1, Math.min(subject.maxN, Math.round((n * TARGET_RUN_MS * 1e6) / ns)));
  }
  return n;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function benchFuel(cell: WasmCell, subject: FuelSubject): Promise<Row[]> {
  const name = subject.guest.name;
  const base = { id: `fuel.${name}`, section: "fuel", label: `${subject.title}: metered / unmetered` } as const;
  const nodeWasi = subject.nodeWasi ? new NodeWasiRunner(new WebAssembly.Module(subject.guest.bytes), name) : undefined;
  try {
    const metered: Engine = { key: "metered", label: `${name}: cordon WasmCell.call (instrumented, fuel-metered)`, run: cellRunner(cell, name) };
    const engines: Engine[] = [
      metered,
      { key: "wasi-host", label: `${name}: original bytes + cordon WasiHost (no metering)`, run: wasiHostRunner(new WebAssembly.Module(subject.guest.bytes), name) },
    ];
    if (nodeWasi !== undefined) engines.push({ key: "node-wasi", label: `${name}: original bytes + node:wasi`, run: (input) => nodeWasi.run(input) });

    const n = await calibrate(subject, metered.run);
    const input = subject.input(n);
    const expected = metered.run(input);
    for (const e of engines) {
      const out = e.run(input);
      if (!same(out, expected)) throw new Error(`${e.label} output ${JSON.stringify(new TextDecoder().decode(out))} differs from metered ${JSON.stringify(new TextDecoder().decode(expected))}`);
      for (let i = 1; i < WARMUP_RUNS; i++) e.run(input);
    }
    await settle(100);
    // Interleaved, rotating the order each round, so drift and ordering hit every engine alike.
    const samples = new Map<string, number[]>(engines.map((e) => [e.key, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < engines.length; k++) {
        const e = engines[(r + k) % engines.length] as Engine;
        samples.get(e.key)?.push(timeOnce(() => e.run(input)));
      }
    }
    const stats = new Map(engines.map((e) => [e.key, summarise(samples.get(e.key) ?? [])]));
    const rows: Row[] = engines.map((e) => ({
      id: `fuel-runs.${name}.${e.key}`,
      section: "fuel-runs",
      label: e.label,
      kind: "timing",
      stats: stats.get(e.key) ?? summarise([]),
      note: `input ${subject.describeInput(n)}; output ${new TextDecoder().decode(expected)}`,
    }));
    const ratio = (num: string, den: string, id: string, label: string, target: boolean): RatioRow | undefined => {
      const a = stats.get(num);
      const b = stats.get(den);
      if (a === undefined || b === undefined) return undefined;
      const value = a.p50Us / b.p50Us;
      return {
        id,
        section: "fuel",
        label,
        kind: "ratio",
        ratio: Math.round(value * 1000) / 1000,
        ratioOfMin: Math.round((a.minUs / b.minUs) * 1000) / 1000,
        metered: a,
        unmetered: b,
        input: subject.describeInput(n),
        ...(target ? { target: { metric: "ratio", max: FUEL_RATIO_TARGET, pass: value <= FUEL_RATIO_TARGET } } : {}),
      };
    };
    const main = ratio("metered", "wasi-host", base.id, `${base.label} (cordon WasiHost)`, subject.targeted);
    if (main !== undefined) rows.push(main);
    const vsNode = ratio("metered", "node-wasi", `fuel.${name}.vs-node-wasi`, `${name}: metered / node:wasi`, false);
    if (vsNode !== undefined) rows.push(vsNode);
    return rows;
  } catch (err) {
    return [failedRow(base, err)];
  } finally {
    nodeWasi?.close();
  }
}
