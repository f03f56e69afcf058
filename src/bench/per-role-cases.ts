// Per-role granularity measured: one cell per role, a fresh set of Wasm instances per session
// inside it. How long a session waits when its role's cell is already running, what each
// further session adds to that cell's memory (density.ts turns that into sessions per GiB).
import type { CellProcess } from "../cell/cell-process.js";
import { RoleCellHost } from "../cell/cell-hosts.js";
import { SessionHost } from "../runtime/session-host.js";
import type { Session } from "../runtime/session.js";
import { BENCH_ROLE, type BenchPolicy } from "./bench-policy.js";
import { checkedEcho, checkFirst, timeSplit, WARM_START_P50_TARGET_US, withRuntime } from "./cell-cases.js";
import { IDLE_READ_MS, mb, measureCell, memoryData, memoryDetail, type CellMemory } from "./cell-memory.js";
import { fitLine, kb, mb2 } from "./density.js";
import { settle, type Plan } from "./measure.js";
import { failedRow, p50Target, type Row } from "./rows.js";

const PER_ROLE_START_PLAN: Plan = { warmup: 10, iterations: 200 };
/** Sessions open in the role's cell at each memory reading. */
export const SESSION_COUNTS: readonly number[] = [1, 10, 50, 200];

function roleCellOf(session: Session): CellProcess {
  const host = session.toolHost;
  const wasm = host instanceof SessionHost ? host.wasmHost : host;
  if (!(wasm instanceof RoleCellHost)) throw new Error("session is not in a per-role cell");
  return wasm.process;
}

export async function benchPerRoleStart(bench: BenchPolicy): Promise<Row[]> {
  const base = { id: "cells.session-start.per-role", section: "cells", label: "openSession per-role (the role's cell already running)" } as const;
  try {
    const stats = await withRuntime(bench, { granularity: "per-role" }, async (runtime) => {
      await runtime.warm();
      await checkFirst(runtime);
      return timeSplit(PER_ROLE_START_PLAN, () => runtime.openSession(BENCH_ROLE), (s) => runtime.closeSession(s));
    });
    return [
      {
        ...base,
        kind: "timing",
        stats,
        target: p50Target(stats, WARM_START_P50_TARGET_US),
        note: "timed: digest check of the role's modules, the open frame round trip (the cell makes the session its own instance set over the compiled modules), audit record; closeSession (the end frame) outside the timed part. Same target as a warm-pool start",
      },
    ];
  } catch (err) {
    return [failedRow(base, err)];
  }
}

/** Opens sessions in one role cell, each making one notes call (so it holds a reactor instance). */
async function readings(bench: BenchPolicy, rows: Row[]): Promise<{ n: number; m: CellMemory }[]> {
  return withRuntime(bench, { granularity: "per-role" }, async (runtime) => {
    const sessions: Session[] = [];
    const points: { n: number; m: CellMemory }[] = [];
    for (const n of SESSION_COUNTS) {
      while (sessions.length < n) {
        const s = await runtime.openSession(BENCH_ROLE);
        sessions.push(s);
        const r = await s.call("notes", { op: "add", text: `session ${sessions.length}` });
        if (!r.ok) throw new Error(`notes in per-role session ${sessions.length} failed: ${r.error.code}`);
        if (sessions.length === 1) await checkedEcho(s);
      }
      const cells = new Set(sessions.map((s) => roleCellOf(s).id));
      if (cells.size !== 1) throw new Error(`${cells.size} cells for one role`);
      await settle(IDLE_READ_MS);
      const m = measureCell(roleCellOf(sessions[0] as Session));
      points.push({ n, m });
      rows.push({
        id: `cells.per-role.idle-rss.n${n}`,
        section: "cells",
        label: `idle per-role cell, ${n} session${n === 1 ? "" : "s"} open: VmRSS over its cgroup`,
        kind: "value",
        value: mb(m.rssBytes),
        unit: "MB",
        detail: memoryDetail(m),
        data: { sessions: n, ...memoryData(m) },
        note: `each session has made one notes call (its reactor instance stays), the first one also an echo call; read after ${IDLE_READ_MS / 1000} s idle, as the per-session cell`,
      });
    }
    for (const s of sessions) await runtime.closeSession(s);
    return points;
  });
}

/** The most Wasm memory one session may hold: every tool of the role at its memory cap. */
function roleMemoryCaps(bench: BenchPolicy): number {
  const tools = bench.policy.roles.get(BENCH_ROLE) ?? [];
  return tools.reduce((sum, name) => {
    const t = bench.policy.tools.get(name);
    return sum + (t?.tier === "wasm" ? t.limits.memoryBytes : 0);
  }, 0);
}

export async function benchPerRoleMemory(bench: BenchPolicy): Promise<Row[]> {
  const rows: Row[] = [];
  const marginal = { id: "cells.per-role.marginal", section: "cells", label: "per-role cell: memory per extra session" } as const;
  try {
    const points = await readings(bench, rows);
    const rss = fitLine(points.map((p) => ({ x: p.n, y: p.m.rssBytes })));
    const pssPoints = points.flatMap((p) => (p.m.pssBytes === null ? [] : [{ x: p.n, y: p.m.pssBytes }]));
    const pss = pssPoints.length === points.length ? fitLine(pssPoints) : null;
    const caps = roleMemoryCaps(bench);
    const data: Record<string, number | string> = { slopeRssBytes: Math.round(rss.slope), interceptRssBytes: Math.round(rss.intercept), sessions: SESSION_COUNTS.join(","), wasmCapBytesPerSession: caps };
    if (pss !== null) {
      data["slopePssBytes"] = Math.round(pss.slope);
      data["interceptPssBytes"] = Math.round(pss.intercept);
    }
    rows.push({
      ...marginal,
      kind: "value",
      value: mb2(rss.slope),
      unit: "MB",
      detail: [`${kb(rss.slope)} KB per session: RSS slope over N = ${SESSION_COUNTS.join(", ")}`, `the cell itself ${mb(rss.intercept)} MB`, ...(pss === null ? [] : [`PSS slope ${kb(pss.slope)} KB`])].join(", "),
      data,
      note: "least-squares line through the readings above: a session's own instances (reactor memory, instance objects) and the heap they grow",
    });
  } catch (err) {
    rows.push(failedRow(marginal, err));
  }
  return rows;
}
