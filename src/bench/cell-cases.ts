// Sandboxed per-session cells: how long a session waits for its cell (cold, and from a warm
// pool), what an idle cell costs in memory, and the floor set by bare bubblewrap (and Node under
// it). The runtime helpers here are shared with the per-role cases.
import { spawn } from "node:child_process";
import { AuditLog } from "../audit/index.js";
import type { CellProcess } from "../cell/cell-process.js";
import { cellOf as cellHostOf } from "../runtime/runtime.js";
import { type Isolation } from "../tier/tool-host.js";
import { Runtime, type Granularity } from "../runtime/runtime.js";
import type { Session } from "../runtime/session.js";
import { BENCH_ROLE, type BenchPolicy } from "./bench-policy.js";
import { IDLE_READ_MS, mb, measureCell, memoryData, memoryDetail } from "./cell-memory.js";
import { settle, summarise, type Plan, type Stats } from "./measure.js";
import { failedRow, mbTarget, p50Target, type Row } from "./rows.js";

export const WARM_START_P50_TARGET_US = 5000;
export const IDLE_RSS_TARGET_MB = 35;
export const START_PLAN: Plan = { warmup: 2, iterations: 20 };
const BWRAP_PLAN: Plan = { warmup: 3, iterations: 50 };
const NODE_BWRAP_PLAN: Plan = { warmup: 2, iterations: 20 };

/** A timed phase and an untimed one per iteration: only `timed` counts. */
export async function timeSplit<T>(plan: Plan, timed: () => Promise<T>, after: (t: T) => Promise<void>): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < plan.warmup + plan.iterations; i++) {
    const start = process.hrtime.bigint();
    const t = await timed();
    const ns = Number(process.hrtime.bigint() - start);
    await after(t);
    if (i >= plan.warmup) samples.push(ns);
  }
  return summarise(samples);
}

export interface RuntimeShape {
  readonly isolation?: Isolation;
  readonly poolSize?: number;
  readonly granularity?: Granularity;
}

export function startRuntime(bench: BenchPolicy, shape: RuntimeShape): Promise<Runtime> {
  return Runtime.start({
    policy: bench.policy,
    audit: AuditLog.memory(),
    isolation: shape.isolation ?? "cell",
    poolSize: shape.poolSize ?? 0,
    granularity: shape.granularity ?? "per-session",
  });
}

export async function withRuntime<T>(bench: BenchPolicy, shape: RuntimeShape, body: (r: Runtime) => Promise<T>): Promise<T> {
  const runtime = await startRuntime(bench, shape);
  try {
    return await body(runtime);
  } finally {
    await runtime.close();
  }
}

export async function checkedEcho(session: Session): Promise<void> {
  const r = await session.call("echo", { x: 1 });
  if (!r.ok) throw new Error(`echo in a fresh cell failed: ${r.error.code}`);
}

/** One session that must answer echo before anything is timed; closed again. */
export async function checkFirst(runtime: Runtime): Promise<void> {
  const session = await runtime.openSession(BENCH_ROLE);
  try {
    await checkedEcho(session);
  } finally {
    await runtime.closeSession(session);
  }
}

function cellOf(session: Session): CellProcess {
  const host = cellHostOf(session.toolHost);
  if (host === null) throw new Error("session is not in a per-session cell");
  return host.process;
}

export async function benchSessionStart(bench: BenchPolicy): Promise<Row[]> {
  const rows: Row[] = [];
  const cold = { id: "cells.session-start.cold", section: "cells", label: "openSession, no pool (bwrap + node + cgroup + load)" } as const;
  try {
    const stats = await withRuntime(bench, { poolSize: 0 }, async (runtime) => {
      await checkFirst(runtime);
      return timeSplit(START_PLAN, () => runtime.openSession(BENCH_ROLE), (s) => runtime.closeSession(s));
    });
    rows.push({ ...cold, kind: "timing", stats, note: "spawn cordon-launch -> bwrap -> node, wait for ready, create + join the cgroup, send and compile the role's templates (echo, notes); closeSession outside the timed part" });
  } catch (err) {
    rows.push(failedRow(cold, err));
  }
  await settle();
  const warm = { id: "cells.session-start.pooled", section: "cells", label: "openSession from a warm pool (poolSize 2)" } as const;
  try {
    const stats = await withRuntime(bench, { poolSize: 2 }, async (runtime) => {
      await runtime.warm();
      await checkFirst(runtime);
      await runtime.warm();
      return timeSplit(
        START_PLAN,
        () => runtime.openSession(BENCH_ROLE),
        async (s) => {
          await runtime.closeSession(s);
          await runtime.warm();
          await settle(20);
        },
      );
    });
    rows.push({
      ...warm,
      kind: "timing",
      stats,
      target: p50Target(stats, WARM_START_P50_TARGET_US),
      note: "pooled cells are started, in their cgroup and have compiled the role template before hand-out; timed: digest check, binding the cell to the session (one frame round trip), audit record. A refill still in flight when the next session starts leaves the pool empty (cold start): that is the p99",
    });
  } catch (err) {
    rows.push(failedRow(warm, err));
  }
  return rows;
}

export async function benchIdleCellMemory(bench: BenchPolicy): Promise<Row[]> {
  const base = { id: "cells.idle-rss", section: "cells", label: "idle per-session cell: VmRSS summed over its cgroup" } as const;
  try {
    return await withRuntime(bench, { poolSize: 0 }, async (runtime) => {
      const session = await runtime.openSession(BENCH_ROLE);
      await checkedEcho(session);
      await settle(500);
      const early = measureCell(cellOf(session));
      await settle(IDLE_READ_MS - 500);
      const m = measureCell(cellOf(session));
      await runtime.closeSession(session);
      const value = mb(m.rssBytes);
      return [
        {
          ...base,
          kind: "value",
          value,
          unit: "MB",
          detail: `${memoryDetail(m)}; ${mb(early.rssBytes)} MB RSS after 500 ms`,
          data: { ...memoryData(m), rssAfter500msBytes: early.rssBytes },
          target: mbTarget(value, IDLE_RSS_TARGET_MB),
          note: `after one echo call and ${IDLE_READ_MS / 1000} s idle (V8's memory reducer has run); RSS counts shared pages (the node binary, libc) once per process, PSS splits them among the processes that share them, USS counts only pages no other process maps; memory.usage_in_bytes (cgroup v1) counts only pages charged after the cell joined its cgroup: node's startup memory stays charged to the parent, so it is far below RSS`,
        },
      ] satisfies Row[];
    });
  } catch (err) {
    return [failedRow(base, err)];
  }
}

export const BARE_BWRAP: readonly string[] = [
  "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv", "--disable-userns",
  "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
  "--proc", "/proc", "--dev", "/dev",
];

function runBwrap(command: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bwrap", [...BARE_BWRAP, ...command], { uid: 65534, gid: 65534, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`bwrap ${command.join(" ")} exited ${code ?? signal}: ${stderr.trim().slice(0, 200)}`));
    });
  });
}

export async function benchBareBwrap(): Promise<Row[]> {
  const cases = [
    { id: "cells.bwrap.true", label: "bare bwrap /bin/true (uid 65534)", command: ["/bin/true"], plan: BWRAP_PLAN },
    { id: "cells.bwrap.node", label: "bare bwrap node -e 0 (uid 65534)", command: [process.execPath, "-e", "0"], plan: NODE_BWRAP_PLAN },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const base = { id: c.id, section: "cells", label: c.label } as const;
    try {
      if (!process.execPath.startsWith("/usr/")) throw new Error(`node at ${process.execPath} is outside the /usr bind`);
      const stats = await timeSplit(c.plan, () => runBwrap(c.command), () => Promise.resolve());
      rows.push({ ...base, kind: "timing", stats, note: "spawn + wait for exit; all namespaces unshared, only /usr bound read-only, no seccomp, no cgroup" });
    } catch (err) {
      rows.push(failedRow(base, err));
    }
  }
  return rows;
}
