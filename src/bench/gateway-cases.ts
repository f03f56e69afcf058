// The gateway under load over loopback HTTP, against real cells: what the gateway adds to a
// direct Session.call, how many calls/s a mixed load of many sessions gets (valid and invalid
// tokens, two roles, tools that trap, loop or are killed), the gateway process's memory over
// time, and the processes left over once the runtime has closed. The load comes from a forked
// process (gateway-load.ts), so this process's CPU and memory are the gateway's.
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { AuditLog } from "../audit/index.js";
import { makeIssuer, verifierFor, type TestIssuer } from "../gateway/gateway.fixture.js";
import { startHttpGateway, type HttpGateway } from "../gateway/http-gateway.js";
import { Runtime } from "../runtime/runtime.js";
import { writeGatewayPolicy, type GatewayPolicy } from "./gateway-policy.js";
import { LoadChild, MemorySampler } from "./gateway-harness.js";
import { BENCH_TEXT, type MixedPlan, type MixedResult, type SequentialResult, type ThroughputResult } from "./gateway-protocol.js";
import { memoryRow, mixedRows, type AuditCounts } from "./gateway-report.js";
import { summarise, type Stats } from "./measure.js";
import { cpuMsBetween, cpuMsByPid, leftoverProcesses, pidsUnder, type Leftovers } from "./process-census.js";
import { failedRow, p50Target, type Row } from "./rows.js";

export const GATEWAY_CALLS_PER_SECOND_TARGET = 2000;
export const GATEWAY_OVERHEAD_P50_TARGET_US = 500;

const OVERHEAD = { blocks: 8, perBlock: 250, warmup: 200 } as const;
const SDK_SEQUENTIAL = { warmup: 50, n: 400 } as const;
const THROUGHPUT = { sessions: 8, concurrency: 32, durationMs: 3000 } as const;
const MIXED = { principalsPerRole: 4, sessionsPerPrincipal: 4, faultSessions: 2, concurrency: 48, durationMs: 10_000, faultPauseMs: 25 } as const;
const FILE_MIXED = { ...MIXED, principalsPerRole: 2, durationMs: 5000 } as const;
const ARGS = { text: BENCH_TEXT };
const OPEN_TIMEOUT_MS = 90_000;

interface Stack {
  readonly runtime: Runtime;
  readonly gateway: HttpGateway;
  readonly issuer: TestIssuer;
  readonly audit: AuditLog;
}

async function startStack(policy: GatewayPolicy, audit: AuditLog): Promise<Stack> {
  const runtime = await Runtime.start({ policy: policy.policy, audit, isolation: "cell", poolSize: 2 });
  try {
    await runtime.warm();
    const issuer = makeIssuer();
    const gateway = await startHttpGateway({ runtime, verifierFor: verifierFor(issuer), issuers: [issuer.issuer], port: 0, jsonResponse: true, maxSessionsPerPrincipal: 16, maxSessions: 512 });
    return { runtime, gateway, issuer, audit };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

async function stopStack(stack: Stack): Promise<void> {
  await stack.gateway.close().catch(() => undefined);
  await stack.runtime.close();
}

async function bearer(stack: Stack, role: string, sub: string): Promise<string> {
  return `Bearer ${await stack.issuer.mint({ aud: stack.gateway.url, role, sub })}`;
}

async function open(child: LoadChild, stack: Stack, client: "raw" | "sdk", role: string, sub: string, count: number): Promise<string[]> {
  const r = await child.ask<{ handles: string[] }>({ op: "open", url: stack.gateway.url, client, authorization: await bearer(stack, role, sub), count }, OPEN_TIMEOUT_MS);
  return r.handles;
}

/** Every way a request's token can be refused: each must get 401 and one authn.denied record. */
async function badAuthorizations(stack: Stack): Promise<MixedPlan["badAuthorizations"]> {
  const { issuer, gateway } = stack;
  const now = Math.floor(Date.now() / 1000);
  const mint = async (claims: Record<string, unknown>, key?: ReturnType<typeof generateKeyPairSync>["privateKey"]) =>
    `Bearer ${await issuer.mint({ aud: gateway.url, role: "analyst", sub: "bench-bad", ...claims }, key === undefined ? {} : { key })}`;
  return [
    { kind: "absent", authorization: null },
    { kind: "not-a-jwt", authorization: "Bearer not-a-jwt" },
    { kind: "expired", authorization: await mint({ iat: now - 1200, exp: now - 600 }) },
    { kind: "wrong-audience", authorization: await mint({ aud: "http://127.0.0.1:9/mcp" }) },
    { kind: "foreign-key", authorization: await mint({}, generateKeyPairSync("ed25519").privateKey) },
    { kind: "unknown-role", authorization: await mint({ role: "root" }) },
  ];
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The difference of two latency distributions, percentile by percentile. */
function difference(a: Stats, b: Stats): Stats {
  const d = (x: number, y: number) => Math.round((x - y) * 100) / 100;
  return { n: Math.min(a.n, b.n), p50Us: d(a.p50Us, b.p50Us), p99Us: d(a.p99Us, b.p99Us), meanUs: d(a.meanUs, b.meanUs), minUs: d(a.minUs, b.minUs), maxUs: d(a.maxUs, b.maxUs) };
}

/**
 * The same tool, the same input, one call at a time: through the gateway (HTTP, token verified,
 * MCP framing) and straight into a session of the same runtime, in alternating blocks so that
 * drift on a shared machine falls on both alike.
 */
async function benchOverhead(child: LoadChild, stack: Stack): Promise<{ rows: Row[]; rawClientCpuUs: number; rawP50Us: number }> {
  const [handle] = await open(child, stack, "raw", "analyst", "bench-sequential", 1);
  if (handle === undefined) throw new Error("no session opened");
  const direct = await stack.runtime.openSession("analyst");
  try {
    const directCall = async () => {
      const r = await direct.call("text-stats", ARGS);
      if (!r.ok) throw new Error(`direct text-stats failed: ${r.error.code}`);
    };
    await child.ask({ op: "sequential", handle, tool: "text-stats", args: ARGS, warmup: OVERHEAD.warmup, n: 0 }, 60_000);
    for (let i = 0; i < OVERHEAD.warmup; i++) await directCall();
    const viaHttp: number[] = [];
    const straight: number[] = [];
    let clientCpuUs = 0;
    let httpCpuUs = 0;
    let directCpuUs = 0;
    for (let b = 0; b < OVERHEAD.blocks; b++) {
      const before = cpuNow();
      const r = await child.ask<SequentialResult>({ op: "sequential", handle, tool: "text-stats", args: ARGS, warmup: 0, n: OVERHEAD.perBlock }, 60_000);
      httpCpuUs += cpuNow() - before;
      if (r.outcomes["ok"] !== OVERHEAD.perBlock) throw new Error(`gateway calls failed: ${JSON.stringify(r.outcomes)}`);
      viaHttp.push(...r.samplesNs);
      clientCpuUs += r.cpuUs;
      const mark = cpuNow();
      for (let i = 0; i < OVERHEAD.perBlock; i++) {
        const start = process.hrtime.bigint();
        await directCall();
        straight.push(Number(process.hrtime.bigint() - start));
      }
      directCpuUs += cpuNow() - mark;
    }
    const n = viaHttp.length;
    const gw = summarise(viaHttp);
    const dr = summarise(straight);
    const added = difference(gw, dr);
    const perCall = (us: number) => Math.round(us / n);
    const cpu = `control-plane CPU per call: ${perCall(httpCpuUs)} us through the gateway, ${perCall(directCpuUs)} us direct (added ${perCall(httpCpuUs - directCpuUs)} us); raw client ${perCall(clientCpuUs)} us`;
    const rows: Row[] = [
      { id: "gateway.sequential.direct", section: "gateway", label: "text-stats, direct Session.call (same runtime, cell, memory audit)", kind: "timing", stats: dr },
      { id: "gateway.sequential.http", section: "gateway", label: "text-stats through the gateway (raw HTTP client, 1 in flight)", kind: "timing", stats: gw, note: "keep-alive node:http client in a separate process: POST tools/call with a bearer JWT, JSON response (jsonResponse: true)" },
      {
        id: "gateway.overhead",
        section: "gateway",
        label: "added latency: gateway minus direct, per percentile",
        kind: "timing",
        stats: added,
        target: p50Target(added, GATEWAY_OVERHEAD_P50_TARGET_US),
        note: `${OVERHEAD.blocks} alternating blocks of ${OVERHEAD.perBlock} calls each way; ${cpu}`,
        data: { gatewayCpuUsPerCall: perCall(httpCpuUs), directCpuUsPerCall: perCall(directCpuUs), clientCpuUsPerCall: perCall(clientCpuUs) },
      },
    ];
    return { rows, rawClientCpuUs: perCall(clientCpuUs), rawP50Us: gw.p50Us };
  } finally {
    await stack.runtime.closeSession(direct).catch(() => undefined);
    await child.ask({ op: "close", handles: [handle] }, 30_000).catch(() => undefined);
  }
}

/** The SDK's own client, one call at a time, and both clients flat out: which one is the bottleneck. */
async function benchClients(child: LoadChild, stack: Stack, raw: { cpuUs: number; p50Us: number }): Promise<Row[]> {
  const rows: Row[] = [];
  const [sdk] = await open(child, stack, "sdk", "analyst", "bench-sdk-sequential", 1);
  if (sdk === undefined) throw new Error("no SDK session opened");
  try {
    const r = await child.ask<SequentialResult>({ op: "sequential", handle: sdk, tool: "text-stats", args: ARGS, ...SDK_SEQUENTIAL }, 60_000);
    const stats = summarise(r.samplesNs);
    const cpu = Math.round(r.cpuUs / SDK_SEQUENTIAL.n);
    rows.push({
      id: "gateway.sequential.sdk",
      section: "gateway",
      label: "text-stats through the gateway (SDK Client.callTool, 1 in flight)",
      kind: "timing",
      stats,
      note: `client CPU per call: SDK ${cpu} us vs raw ${raw.cpuUs} us; p50 ${Math.round(stats.p50Us - raw.p50Us)} us above the raw client (fetch, zod result parsing)`,
      data: { clientCpuUsPerCall: cpu },
    });
  } finally {
    await child.ask({ op: "close", handles: [sdk] }, 30_000).catch(() => undefined);
  }
  for (const client of ["raw", "sdk"] as const) {
    const base = { id: `gateway.throughput.${client}`, section: "gateway", label: `text-stats flat out, ${client === "raw" ? "raw" : "SDK"} client: ${THROUGHPUT.sessions} sessions, ${THROUGHPUT.concurrency} in flight` } as const;
    try {
      const handles = await open(child, stack, client, "analyst", `bench-throughput-${client}`, THROUGHPUT.sessions);
      try {
        const before = cpuNow();
        const t = await child.ask<ThroughputResult>({ op: "throughput", handles, tool: "text-stats", args: ARGS, concurrency: THROUGHPUT.concurrency, durationMs: THROUGHPUT.durationMs }, THROUGHPUT.durationMs + 60_000);
        const gatewayCpu = cpuNow() - before;
        if (t.stats === null) throw new Error("no calls completed");
        const rate = Math.round((t.outcomes["ok"] ?? 0) / t.seconds);
        rows.push({
          ...base,
          kind: "timing",
          stats: t.stats,
          callsPerSecond: rate,
          note: `CPU per call: gateway process ${Math.round(gatewayCpu / t.count)} us, load generator ${Math.round(t.cpuUs / t.count)} us; outcomes ${JSON.stringify(t.outcomes)}`,
        });
      } finally {
        await child.ask({ op: "close", handles }, 30_000).catch(() => undefined);
      }
    } catch (err) {
      rows.push(failedRow(base, err));
    }
  }
  return rows;
}

/** Counts audit records by `type|enforcer` while a phase runs. */
function countAudit(audit: AuditLog): { counts: AuditCounts; stop: () => void } {
  const counts = new Map<string, number>();
  const stop = audit.onRecord((r) => {
    const key = `${r.type}|${r.enforcer ?? ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return { counts, stop };
}

async function benchMixed(child: LoadChild, stack: Stack, shape: typeof MIXED | typeof FILE_MIXED, variant: "memory" | "file", sampler: MemorySampler | null): Promise<Row[]> {
  const sessions: string[] = [];
  for (const role of ["analyst", "operator"]) {
    const opened = await Promise.all(Array.from({ length: shape.principalsPerRole }, (_, k) => open(child, stack, "raw", role, `bench-${role}-${k}`, shape.sessionsPerPrincipal)));
    sessions.push(...opened.flat());
  }
  const faultSessions = await open(child, stack, "raw", "operator", "bench-faults", shape.faultSessions);
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
  sampler?.phase(`mixed-${variant}`);
  let result: MixedResult;
  try {
    result = await child.ask<MixedResult>({ op: "mixed", plan }, shape.durationMs + 60_000);
  } finally {
    sampler?.phase(`after-mixed-${variant}`);
    audit.stop();
  }
  const gatewayCpuUs = cpuNow() - cpuBefore;
  const cellsCpuMs = cpuMsBetween(cellsBefore, cpuMsByPid(pidsUnder()));
  await child.ask({ op: "close", handles: [...sessions, ...faultSessions] }, 60_000).catch(() => undefined);
  return mixedRows({ variant, result, audit: audit.counts, sessions: sessions.length + faultSessions.length, concurrency: shape.concurrency, gatewayCpuUs, cellsCpuMs, target: variant === "memory" ? GATEWAY_CALLS_PER_SECOND_TARGET : null });
}

function leftoverRow(census: readonly Leftovers[], error: string | null): Row {
  const inParent = census.reduce((n, c) => n + c.inParent.length, 0);
  const unaccounted = census.reduce((n, c) => n + c.unaccounted.length, 0);
  const others = Math.max(0, ...census.map((c) => c.otherControlPlanes));
  const total = inParent + unaccounted;
  const pids = census.flatMap((c) => [...c.inParent, ...c.unaccounted]).slice(0, 16).join(",");
  return {
    id: "gateway.leftovers",
    section: "gateway",
    label: "processes left after runtime.close() (both runs)",
    kind: "value",
    value: total,
    unit: "processes",
    detail: `${inParent} in this control plane's cgroups, ${unaccounted} with a cell uid (200000+) outside any live control plane's cgroups${pids === "" ? "" : ` (pids ${pids})`}; ${others} cell-uid processes belong to other live cordon runtimes on this host${error === null ? "" : `; ${error}`}`,
    target: { metric: "processes", max: 0, pass: total === 0 && error === null },
  };
}

export async function benchGateway(): Promise<Row[]> {
  const rows: Row[] = [];
  const sampler = new MemorySampler();
  const census: Leftovers[] = [];
  let closeError: string | null = null;
  let policy: GatewayPolicy | null = null;
  let child: LoadChild | null = null;
  try {
    policy = writeGatewayPolicy();
    child = LoadChild.start();
    for (const variant of ["memory", "file"] as const) {
      let stack: Stack | null = null;
      try {
        sampler.phase(`start-${variant}`);
        const audit = variant === "memory" ? AuditLog.memory() : await AuditLog.open(join(policy.dir, "audit-gateway.jsonl"));
        stack = await startStack(policy, audit);
        if (variant === "memory") {
          sampler.phase("sequential");
          const overhead = await benchOverhead(child, stack).catch((err: unknown) => ({ rows: [failedRow({ id: "gateway.overhead", section: "gateway", label: "added latency: gateway minus direct" }, err)], rawClientCpuUs: NaN, rawP50Us: NaN }));
          rows.push(...overhead.rows);
          sampler.phase("clients");
          rows.push(...(await benchClients(child, stack, { cpuUs: overhead.rawClientCpuUs, p50Us: overhead.rawP50Us }).catch((err: unknown) => [failedRow({ id: "gateway.clients", section: "gateway", label: "SDK client vs raw client" }, err)])));
        }
        rows.push(...(await benchMixed(child, stack, variant === "memory" ? MIXED : FILE_MIXED, variant, variant === "memory" ? sampler : null).catch((err: unknown) => [failedRow({ id: `gateway.mixed.${variant}`, section: "gateway", label: `mixed load (${variant} audit)` }, err)])));
      } catch (err) {
        rows.push(failedRow({ id: `gateway.${variant}`, section: "gateway", label: `gateway stack (${variant} audit)` }, err));
      } finally {
        sampler.phase(`close-${variant}`);
        if (stack !== null) {
          await stopStack(stack).catch((err: unknown) => {
            closeError = `runtime.close() failed: ${err instanceof Error ? err.message : String(err)}`;
          });
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
  rows.push(memoryRow(sampler.stop()));
  if (census.length > 0) rows.push(leftoverRow(census, closeError));
  return rows;
}
