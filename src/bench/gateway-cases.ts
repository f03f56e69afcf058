// The gateway under load over loopback HTTP, against real cells: what the gateway adds to a
// direct Session.call, what 500 slowloris connections do to the latency of real calls, how many calls/s a mixed load of many sessions gets (valid and invalid
// tokens, two roles, tools that trap, loop or are killed) with per-session and per-role cells
// and with a file audit log, the gateway process's memory over time, and the processes left
// once each runtime has closed. The load comes from a forked process (gateway-load.ts), so this
// process's CPU and memory are the gateway's. Every phase that fails becomes a failed row.
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { AuditLog } from "../audit/index.js";
import type { Granularity } from "../runtime/runtime.js";
import { LoadChild, MemorySampler } from "./gateway-harness.js";
import { benchFlatOut, benchHttpFloor, benchOverhead, benchSdkSequential, benchSse } from "./gateway-latency.js";
import { writeGatewayPolicy, type GatewayPolicy } from "./gateway-policy.js";
import type { MixedPlan, MixedResult } from "./gateway-protocol.js";
import { memoryRow, mixedRows, type AuditCounts } from "./gateway-report.js";
import { benchSlowloris } from "./gateway-slowloris.js";
import { badAuthorizations, bearer, cpuNow, openSessions, startStack, stopStack, type Stack } from "./gateway-stack.js";
import { cpuMsBetween, cpuMsByPid, leftoverProcesses, pidsUnder, type Leftovers } from "./process-census.js";
import { failedRow, type Row } from "./rows.js";

export const GATEWAY_CALLS_PER_SECOND_TARGET = 2000;

interface MixedShape {
  readonly principalsPerRole: number;
  readonly sessionsPerPrincipal: number;
  readonly faultSessions: number;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly faultPauseMs: number;
}

const MIXED: MixedShape = { principalsPerRole: 4, sessionsPerPrincipal: 4, faultSessions: 2, concurrency: 48, durationMs: 8000, faultPauseMs: 25 };
const FILE_MIXED: MixedShape = { ...MIXED, durationMs: 5000 };

interface Run {
  readonly name: string;
  readonly granularity: Granularity;
  readonly audit: "memory" | "file";
  readonly shape: MixedShape;
  /** Latency, SSE, client and flat-out phases run on this stack. */
  readonly latency: boolean;
  readonly target: boolean;
}

const RUNS: readonly Run[] = [
  { name: "per-session", granularity: "per-session", audit: "memory", shape: MIXED, latency: true, target: true },
  { name: "per-role", granularity: "per-role", audit: "memory", shape: MIXED, latency: false, target: true },
  { name: "per-role-file", granularity: "per-role", audit: "file", shape: FILE_MIXED, latency: false, target: false },
];

/** Counts audit records by `type|enforcer` while a phase runs. */
function countAudit(audit: AuditLog): { counts: AuditCounts; stop: () => void } {
  const counts = new Map<string, number>();
  const stop = audit.onRecord((r) => {
    const key = `${r.type}|${r.enforcer ?? ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return { counts, stop };
}

async function benchMixed(child: LoadChild, stack: Stack, run: Run, sampler: MemorySampler): Promise<Row[]> {
  const { shape } = run;
  const url = stack.gateway.url;
  const sessions: string[] = [];
  for (const role of ["analyst", "operator"]) {
    const opened = await Promise.all(
      Array.from({ length: shape.principalsPerRole }, async (_, k) => openSessions(child, url, "raw", await bearer(stack, role, `bench-${role}-${k}`), shape.sessionsPerPrincipal)),
    );
    sessions.push(...opened.flat());
  }
  const faultSessions = await openSessions(child, url, "raw", await bearer(stack, "operator", "bench-faults"), shape.faultSessions);
  const plan: MixedPlan = {
    sessions,
    faultSessions,
    badAuthorizations: await badAuthorizations(stack),
    hijacker: await bearer(stack, "analyst", "bench-hijacker"),
    concurrency: shape.concurrency,
    durationMs: shape.durationMs,
    faultPauseMs: shape.faultPauseMs,
  };
  const audit = countAudit(stack.audit);
  const cellsBefore = cpuMsByPid(pidsUnder());
  const cpuBefore = cpuNow();
  sampler.phase(`mixed ${run.name}`);
  let result: MixedResult;
  try {
    result = await child.ask<MixedResult>({ op: "mixed", plan }, shape.durationMs + 60_000);
  } finally {
    sampler.phase(`after mixed ${run.name}`);
    audit.stop();
  }
  const gatewayCpuUs = cpuNow() - cpuBefore;
  const cellsCpuMs = cpuMsBetween(cellsBefore, cpuMsByPid(pidsUnder()));
  await child.ask({ op: "close", handles: [...sessions, ...faultSessions] }, 60_000).catch(() => undefined);
  return mixedRows({
    name: run.name,
    granularity: run.granularity,
    audit: run.audit,
    result,
    auditCounts: audit.counts,
    sessions: sessions.length + faultSessions.length,
    concurrency: shape.concurrency,
    gatewayCpuUs,
    cellsCpuMs,
    target: run.target ? GATEWAY_CALLS_PER_SECOND_TARGET : null,
  });
}

async function latencyRows(child: LoadChild, stack: Stack): Promise<Row[]> {
  const floor = await benchHttpFloor(child);
  const rows: Row[] = [floor];
  let raw = { cpuUs: Number.NaN, p50Us: Number.NaN };
  try {
    const overhead = await benchOverhead(child, stack, floor.kind === "timing" ? floor.stats.p50Us : Number.NaN);
    rows.push(...overhead.rows);
    raw = { cpuUs: overhead.rawClientCpuUs, p50Us: overhead.rawP50Us };
  } catch (err) {
    rows.push(failedRow({ id: "gateway.overhead", section: "gateway", label: "added latency: gateway minus direct" }, err));
  }
  rows.push(await benchSse(child, stack), await benchSdkSequential(child, stack, raw), ...(await benchFlatOut(child, stack)));
  rows.push(...(await benchSlowloris(child, stack).catch((err: unknown) => [failedRow({ id: "gateway.slowloris", section: "gateway", label: "p50 with 500 slow connections vs idle" }, err)])));
  return rows;
}

function leftoverRow(census: readonly Leftovers[], errors: readonly string[]): Row {
  const inParent = census.reduce((n, c) => n + c.inParent.length, 0);
  const unaccounted = census.reduce((n, c) => n + c.unaccounted.length, 0);
  const others = Math.max(0, ...census.map((c) => c.otherControlPlanes));
  const total = inParent + unaccounted;
  const pids = census.flatMap((c) => [...c.inParent, ...c.unaccounted]).slice(0, 16).join(",");
  return {
    id: "gateway.leftovers",
    section: "gateway",
    label: `processes left after runtime.close() (${census.length} runtimes)`,
    kind: "value",
    value: total,
    unit: "processes",
    detail: `${inParent} in this control plane's cgroups, ${unaccounted} with a cell uid (200000+) outside any live control plane's cgroups${pids === "" ? "" : ` (pids ${pids})`}; ${others} cell-uid processes of other cordon runtimes on this host not counted${errors.length === 0 ? "" : `; ${errors.join("; ")}`}`,
    target: { metric: "processes", max: 0, pass: total === 0 && errors.length === 0 },
  };
}

/** Heap after a full collection: what the gateway still holds once every session is gone. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (() => void) | undefined;
  gc?.();
}

export async function benchGateway(progress: (what: string) => void = () => undefined): Promise<Row[]> {
  const rows: Row[] = [];
  const sampler = new MemorySampler();
  const census: Leftovers[] = [];
  const closeErrors: string[] = [];
  let policy: GatewayPolicy | null = null;
  let child: LoadChild | null = null;
  try {
    policy = writeGatewayPolicy();
    child = LoadChild.start();
    for (const run of RUNS) {
      let stack: Stack | null = null;
      try {
        progress(`gateway: ${run.name} cells, ${run.audit} audit`);
        sampler.phase(`start ${run.name}`);
        const audit = run.audit === "memory" ? AuditLog.memory() : await AuditLog.open(join(policy.dir, `audit-${run.name}.jsonl`));
        stack = await startStack(policy, audit, run.granularity);
        if (run.latency) {
          sampler.phase("latency");
          rows.push(...(await latencyRows(child, stack)));
        }
        rows.push(...(await benchMixed(child, stack, run, sampler).catch((err: unknown) => [failedRow({ id: `gateway.mixed.${run.name}`, section: "gateway", label: `mixed load (${run.name})` }, err)])));
      } catch (err) {
        rows.push(failedRow({ id: `gateway.${run.name}`, section: "gateway", label: `gateway stack (${run.name})` }, err));
      } finally {
        sampler.phase(`close ${run.name}`);
        if (stack !== null) {
          await stopStack(stack).catch((err: unknown) => closeErrors.push(`${run.name}: runtime.close() failed: ${err instanceof Error ? err.message : String(err)}`));
          census.push(leftoverProcesses());
        }
      }
    }
  } catch (err) {
    rows.push(failedRow({ id: "gateway", section: "gateway", label: "gateway benchmark" }, err));
  } finally {
    await child?.stop();
    policy?.remove();
  }
  collectGarbage();
  sampler.phase("end, after a full GC");
  rows.push(memoryRow(sampler.stop()));
  if (census.length > 0) rows.push(leftoverRow(census, closeErrors));
  return rows;
}
