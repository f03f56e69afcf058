// Per-call latency of the echo tool through cordon: the engine alone (WasmCell.call), then the
// control plane (Session.call: policy evaluation, input schema, audit chain) with an in-memory
// and with a durable, file-backed audit log.
import type { Isolation } from "../tier/tool-host.js";
import { join } from "node:path";
import { AuditLog } from "../audit/index.js";
import { Runtime } from "../runtime/runtime.js";
import type { Session } from "../runtime/session.js";
import type { WasmCell } from "../wasm/engine/wasm-cell.js";
import { BENCH_ROLE, type BenchPolicy } from "./bench-policy.js";
import { summarise, timeAsync, timeSync, type Plan } from "./measure.js";
import { failedRow, p50Target, type Row, type TimingRow } from "./rows.js";

export const ECHO_JSON = '{"x":1}';
export const ECHO_INPUT = new TextEncoder().encode(ECHO_JSON);
export const ECHO_P50_TARGET_US = 150;

const CELL_PLAN: Plan = { warmup: 1000, iterations: 5000 };
const MEMORY_AUDIT_PLAN: Plan = { warmup: 300, iterations: 3000 };
const FILE_AUDIT_PLAN: Plan = { warmup: 20, iterations: 300 };
const CONCURRENCY = 32;
const CONCURRENT_ROUNDS = 20;

function echoOnce(cell: WasmCell): void {
  const r = cell.call("echo", ECHO_INPUT);
  if (!r.ok) throw new Error(`echo failed: ${r.error.code}`);
}

export function benchEchoCell(cell: WasmCell): Row {
  const base = { id: "call.echo.cell", section: "call", label: "cordon WasmCell.call (instrumented, fresh instance)" } as const;
  try {
    const first = cell.call("echo", ECHO_INPUT);
    const out = first.ok ? new TextDecoder().decode(first.output) : `error ${first.error.code}`;
    if (out !== ECHO_JSON) throw new Error(`echo returned ${JSON.stringify(out)}`);
    const stats = timeSync(CELL_PLAN, () => echoOnce(cell));
    return { ...base, kind: "timing", stats, target: p50Target(stats, ECHO_P50_TARGET_US) };
  } catch (err) {
    return failedRow(base, err);
  }
}

async function echoViaSession(session: Session): Promise<void> {
  const r = await session.call("echo", { x: 1 });
  if (!r.ok) throw new Error(`session echo failed: ${r.error.code}`);
}

async function withSession<T>(bench: BenchPolicy, audit: AuditLog, body: (s: Session) => Promise<T>, isolation: Isolation = "cell"): Promise<T> {
  let runtime: Runtime;
  try {
    runtime = await Runtime.start({ policy: bench.policy, audit, isolation });
  } catch (err) {
    await audit.close();
    throw err;
  }
  try {
    const session = await runtime.openSession(BENCH_ROLE);
    const first = await session.call("echo", { x: 1 });
    if (!first.ok || JSON.stringify(first.output) !== ECHO_JSON) throw new Error(`session echo returned ${JSON.stringify(first)}`);
    return await body(session);
  } finally {
    await runtime.close();
  }
}

/** `CONCURRENCY` calls in flight at once: the audit log commits each round's records together. */
async function concurrentRounds(session: Session): Promise<{ stats: TimingRow["stats"]; callsPerSecond: number }> {
  const samples: number[] = [];
  const timed = async () => {
    const start = process.hrtime.bigint();
    await echoViaSession(session);
    samples.push(Number(process.hrtime.bigint() - start));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, timed));
  samples.length = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < CONCURRENT_ROUNDS; r++) await Promise.all(Array.from({ length: CONCURRENCY }, timed));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { stats: summarise(samples), callsPerSecond: Math.round(samples.length / seconds) };
}

export async function benchEchoSession(bench: BenchPolicy): Promise<Row[]> {
  const rows: Row[] = [];
  for (const isolation of ["in-process", "cell"] as const) {
    const memory = {
      id: `call.echo.session.memory-audit.${isolation}`,
      section: "call",
      label: isolation === "cell" ? "cordon Session.call through a sandboxed cell + in-memory audit" : "cordon Session.call in-process (--insecure-in-process) + in-memory audit",
    } as const;
    try {
      const stats = await withSession(bench, AuditLog.memory(), (s) => timeAsync(MEMORY_AUDIT_PLAN, () => echoViaSession(s)), isolation);
      const via = isolation === "cell" ? "; the call crosses the frame socket to the cell and back" : "";
      rows.push({ ...memory, kind: "timing", stats, note: `policy evaluation + input schema + 2 hash-chained audit records (call.allowed, call.completed) per call${via}` });
    } catch (err) {
      rows.push(failedRow(memory, err));
    }
  }
  const file = { id: "call.echo.session.file-audit", section: "call", label: "cordon Session.call (cell) + file audit (fdatasync)" } as const;
  try {
    const stats = await withSession(bench, await AuditLog.open(join(bench.dir, "audit-sequential.jsonl")), (s) =>
      timeAsync(FILE_AUDIT_PLAN, () => echoViaSession(s)),
    );
    rows.push({ ...file, kind: "timing", stats, note: "one call at a time: 2 fdatasyncs per call (allow record before the guest runs, completion before the result is released); log file under os.tmpdir()" });
  } catch (err) {
    rows.push(failedRow(file, err));
  }
  const concurrent = {
    id: "call.echo.session.file-audit.concurrent",
    section: "call",
    label: `cordon Session.call (cell) + file audit, ${CONCURRENCY} in flight`,
  } as const;
  try {
    const r = await withSession(bench, await AuditLog.open(join(bench.dir, "audit-concurrent.jsonl")), concurrentRounds);
    rows.push({ ...concurrent, kind: "timing", stats: r.stats, callsPerSecond: r.callsPerSecond, note: `group commit: one fdatasync per batch; ${r.callsPerSecond} calls/s` });
  } catch (err) {
    rows.push(failedRow(concurrent, err));
  }
  return rows;
}
