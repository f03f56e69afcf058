// One echo call through Session.call three ways in the same process and the same minutes:
// in-process (--insecure-in-process), through a per-session cell, and through a per-role cell.
// The three run in interleaved rounds, so load from elsewhere on the machine falls on all of
// them alike; the ratios to in-process carry the ≤ 2× target.
import type { Runtime } from "../runtime/runtime.js";
import type { Session } from "../runtime/session.js";
import { BENCH_ROLE, type BenchPolicy } from "./bench-policy.js";
import { ECHO_JSON } from "./call-cases.js";
import { startRuntime, type RuntimeShape } from "./cell-cases.js";
import { summarise, type Stats } from "./measure.js";
import { failedRow, ratioTarget, type Row } from "./rows.js";

export const CALL_RATIO_TARGET = 2;
const WARMUP_CALLS = 300;
const ROUNDS = 20;
const CALLS_PER_ROUND = 100;

type Way = "in-process" | "per-session" | "per-role";

interface Subject {
  readonly way: Way;
  readonly label: string;
  readonly shape: RuntimeShape;
  runtime?: Runtime;
  session?: Session;
  samples: number[];
  error?: unknown;
}

const SUBJECTS: readonly Omit<Subject, "samples">[] = [
  { way: "in-process", label: "Session.call echo, in-process (interleaved)", shape: { isolation: "in-process" } },
  { way: "per-session", label: "Session.call echo, per-session cell (interleaved)", shape: { granularity: "per-session" } },
  { way: "per-role", label: "Session.call echo, per-role cell (interleaved)", shape: { granularity: "per-role" } },
];

async function echo(session: Session): Promise<void> {
  const r = await session.call("echo", { x: 1 });
  if (!r.ok) throw new Error(`echo failed: ${r.error.code}`);
}

async function prepare(bench: BenchPolicy, s: Subject): Promise<void> {
  try {
    s.runtime = await startRuntime(bench, s.shape);
    const session = await s.runtime.openSession(BENCH_ROLE);
    const first = await session.call("echo", { x: 1 });
    if (!first.ok || JSON.stringify(first.output) !== ECHO_JSON) throw new Error(`echo returned ${JSON.stringify(first.ok ? first.output : first.error.code)}`);
    for (let i = 0; i < WARMUP_CALLS; i++) await echo(session);
    s.session = session;
  } catch (err) {
    s.error = err;
  }
}

async function round(s: Subject): Promise<void> {
  const session = s.session;
  if (session === undefined || s.error !== undefined) return;
  try {
    for (let i = 0; i < CALLS_PER_ROUND; i++) {
      const start = process.hrtime.bigint();
      await echo(session);
      s.samples.push(Number(process.hrtime.bigint() - start));
    }
  } catch (err) {
    s.error = err;
  }
}

function ratioRow(subject: Subject, stats: Stats, baseline: Stats): Row {
  const ratio = stats.p50Us / baseline.p50Us;
  return {
    id: `cells.call-ratio.${subject.way}`,
    section: "cells",
    label: `one call, ${subject.way} cell / in-process`,
    kind: "ratio",
    ratio,
    ratioOfMin: stats.minUs / baseline.minUs,
    metered: stats,
    unmetered: baseline,
    input: ECHO_JSON,
    target: ratioTarget(ratio, CALL_RATIO_TARGET),
    note: "p50 over p50 of the interleaved rows above (min/min in bench.json as ratioOfMin); the difference is the frame round trip over the cell's socket: a write, a wake-up of the other process and a read, each way",
  };
}

export async function benchCallGranularity(bench: BenchPolicy): Promise<Row[]> {
  const subjects: Subject[] = SUBJECTS.map((s) => ({ ...s, samples: [] }));
  try {
    for (const s of subjects) await prepare(bench, s);
    for (let r = 0; r < ROUNDS; r++) for (const s of subjects) await round(s);
  } finally {
    await Promise.all(subjects.flatMap((s) => (s.runtime === undefined ? [] : [s.runtime.close().catch(() => undefined)])));
  }
  const rows: Row[] = [];
  const stats = new Map<Way, Stats>();
  for (const s of subjects) {
    const base = { id: `cells.call.${s.way}`, section: "cells", label: s.label } as const;
    if (s.error !== undefined || s.samples.length === 0) {
      rows.push(failedRow(base, s.error ?? new Error("no samples")));
      continue;
    }
    const st = summarise(s.samples);
    stats.set(s.way, st);
    rows.push({ ...base, kind: "timing", stats: st, note: `policy + schema + 2 in-memory audit records per call; ${ROUNDS} rounds of ${CALLS_PER_ROUND} calls, the three ways taking turns` });
  }
  const baseline = stats.get("in-process");
  for (const s of subjects) {
    if (s.way === "in-process") continue;
    const st = stats.get(s.way);
    if (st !== undefined && baseline !== undefined) rows.push(ratioRow(s, st, baseline));
    else rows.push(failedRow({ id: `cells.call-ratio.${s.way}`, section: "cells", label: `one call, ${s.way} cell / in-process` }, new Error(baseline === undefined ? "the in-process baseline failed" : `the ${s.way} case failed`)));
  }
  return rows;
}
