// Sandboxed cells: how long a session waits for its cell (cold, and from a warm pool), what an
// idle cell costs in memory, and the floor set by bare bubblewrap (and Node under it).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AuditLog } from "../audit/index.js";
import { CellHost } from "../cell/tool-host.js";
import type { CellProcess } from "../cell/cell-process.js";
import { Runtime } from "../runtime/runtime.js";
import type { Session } from "../runtime/session.js";
import { BENCH_ROLE, type BenchPolicy } from "./bench-policy.js";
import { settle, summarise, type Plan, type Stats } from "./measure.js";
import { failedRow, mbTarget, p50Target, type Row } from "./rows.js";

export const WARM_START_P50_TARGET_US = 5000;
export const IDLE_RSS_TARGET_MB = 35;
const START_PLAN: Plan = { warmup: 2, iterations: 20 };
const BWRAP_PLAN: Plan = { warmup: 3, iterations: 50 };
const NODE_BWRAP_PLAN: Plan = { warmup: 2, iterations: 20 };
const MIB = 1024 * 1024;

/** A timed phase and an untimed one per iteration: only `timed` counts. */
async function timeSplit<T>(plan: Plan, timed: () => Promise<T>, after: (t: T) => Promise<void>): Promise<Stats> {
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

async function withRuntime<T>(bench: BenchPolicy, poolSize: number, body: (r: Runtime) => Promise<T>): Promise<T> {
  const runtime = await Runtime.start({ policy: bench.policy, audit: AuditLog.memory(), isolation: "cell", poolSize });
  try {
    return await body(runtime);
  } finally {
    await runtime.close();
  }
}

async function checkedEcho(session: Session): Promise<void> {
  const r = await session.call("echo", { x: 1 });
  if (!r.ok) throw new Error(`echo in a fresh cell failed: ${r.error.code}`);
}

/** One session that must answer echo before anything is timed; closed again. */
async function checkFirst(runtime: Runtime): Promise<void> {
  const session = await runtime.openSession(BENCH_ROLE);
  try {
    await checkedEcho(session);
  } finally {
    await runtime.closeSession(session);
  }
}

function cellOf(session: Session): CellProcess {
  const host = session.toolHost;
  if (!(host instanceof CellHost)) throw new Error("session is not in a cell");
  return host.process;
}

export async function benchSessionStart(bench: BenchPolicy): Promise<Row[]> {
  const rows: Row[] = [];
  const cold = { id: "cells.session-start.cold", section: "cells", label: "openSession, no pool (bwrap + node + cgroup + load)" } as const;
  try {
    const stats = await withRuntime(bench, 0, async (runtime) => {
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
    const stats = await withRuntime(bench, 2, async (runtime) => {
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

function statusField(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) * 1024;
}

function pssBytes(pid: number): number | null {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

const mb = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;

export async function benchIdleCellMemory(bench: BenchPolicy): Promise<Row[]> {
  const base = { id: "cells.idle-rss", section: "cells", label: "idle session cell: VmRSS summed over its cgroup" } as const;
  try {
    return await withRuntime(bench, 0, async (runtime) => {
      const session = await runtime.openSession(BENCH_ROLE);
      await checkedEcho(session);
      await settle(500);
      const cell = cellOf(session);
      const pids = cell.cgroup?.pids() ?? [];
      if (pids.length === 0) throw new Error("the cell's cgroup lists no processes");
      const procs = pids.map((pid) => ({ pid, comm: comm(pid), rss: statusField(pid, "VmRSS"), pss: pssBytes(pid) }));
      const total = procs.reduce((s, p) => s + p.rss, 0);
      const largest = procs.reduce((a, b) => (b.rss > a.rss ? b : a));
      const pss = procs.every((p) => p.pss !== null) ? procs.reduce((s, p) => s + (p.pss ?? 0), 0) : null;
      const memDir = cell.cgroup?.paths.memory;
      let usage: number | null = null;
      try {
        if (memDir !== undefined) usage = Number(readFileSync(join(memDir, "memory.usage_in_bytes"), "utf8").trim());
      } catch {
        usage = null;
      }
      const totalMb = mb(total);
      const data: Record<string, number | string> = {
        rssBytes: total,
        nodeRssBytes: largest.rss,
        sessionsPerGiB: Math.floor(1024 / (total / MIB)),
        processes: procs.map((p) => `${p.pid}:${p.comm}:${mb(p.rss)}MB`).join(" "),
      };
      if (pss !== null) data["pssBytes"] = pss;
      if (usage !== null) data["cgroupMemoryUsageBytes"] = usage;
      const detail = [
        `${pids.length} processes`,
        `node alone ${mb(largest.rss)} MB`,
        `${data["sessionsPerGiB"]} sessions/GiB`,
        ...(pss === null ? [] : [`PSS ${mb(pss)} MB`]),
        ...(usage === null ? [] : [`cgroup memory.usage ${mb(usage)} MB`]),
      ].join(", ");
      await runtime.closeSession(session);
      return [
        {
          ...base,
          kind: "value",
          value: totalMb,
          unit: "MB",
          detail,
          data,
          target: mbTarget(totalMb, IDLE_RSS_TARGET_MB),
          note: "after one echo call and 500 ms idle; RSS counts shared pages (the node binary, libc) once per process, PSS splits them among the processes that share them; memory.usage_in_bytes (cgroup v1) counts only pages charged after the cell joined its cgroup: node's startup memory stays charged to the parent, so it is far below RSS",
        },
      ] satisfies Row[];
    });
  } catch (err) {
    return [failedRow(base, err)];
  }
}

const BARE_BWRAP = [
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
  rows.push({
    id: "cells.srt",
    section: "cells",
    label: "@anthropic-ai/sandbox-runtime (srt)",
    kind: "info",
    text: "skipped: not installed here, and it needs socat and ripgrep on the host",
  });
  return rows;
}

/** What a per-role cell (one process, N sessions) would save per session; derived, no new code path. */
export function perRoleEstimate(rows: readonly Row[]): Row {
  const find = (id: string) => rows.find((r) => r.id === id);
  const cold = find("cells.session-start.cold");
  const pooled = find("cells.session-start.pooled");
  const rss = find("cells.idle-rss");
  const inst = find("load.instantiate.echo");
  const data: Record<string, number | string> = {};
  if (cold?.kind === "timing") data["cellStartP50Us"] = cold.stats.p50Us;
  if (pooled?.kind === "timing") data["pooledStartP50Us"] = pooled.stats.p50Us;
  if (rss?.kind === "value") data["cellRssMB"] = rss.value;
  if (inst?.kind === "timing") data["wasmInstantiateP50Us"] = inst.stats.p50Us;
  const parts: string[] = [];
  if (data["cellRssMB"] !== undefined) parts.push(`~${data["cellRssMB"]} MB RSS`);
  if (data["cellStartP50Us"] !== undefined) parts.push(`${(Number(data["cellStartP50Us"]) / 1000).toFixed(1)} ms cold start`);
  const vs = data["wasmInstantiateP50Us"] === undefined ? "" : ` vs ${Number(data["wasmInstantiateP50Us"]).toFixed(1)} us for a fresh Wasm instance in an existing process`;
  return {
    id: "cells.per-role-estimate",
    section: "cells",
    label: "per-role cell (N sessions / process): estimate",
    kind: "info",
    text: parts.length === 0 ? "no inputs measured" : `would save per extra session: ${parts.join(", ")}${vs} (not implemented; estimate only)`,
    data,
  };
}
