// One call at a time: what the gateway adds to a direct Session.call on the same runtime, the
// floor of any HTTP hop on this machine, SSE answers, and the SDK's client; then the clients
// and the runtime flat out, to show which of them limits throughput.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startHttpGateway } from "../gateway/http-gateway.js";
import { verifierFor } from "../gateway/gateway.fixture.js";
import type { Session } from "../runtime/session.js";
import type { LoadChild } from "./gateway-harness.js";
import { BENCH_TEXT, type SequentialResult, type ThroughputResult } from "./gateway-protocol.js";
import { bearer, cpuNow, openSessions, type Stack } from "./gateway-stack.js";
import { summarise, type Stats } from "./measure.js";
import { cpuMsBetween, cpuMsByPid, pidsUnder } from "./process-census.js";
import { failedRow, p50Target, type FailedRow, type Row, type TimingRow } from "./rows.js";

export const GATEWAY_OVERHEAD_P50_TARGET_US = 500;

const ARGS = { text: BENCH_TEXT };
const OVERHEAD = { blocks: 8, perBlock: 250, warmup: 200 } as const;
const SINGLE = { warmup: 100, n: 1000 } as const;
const SDK_SEQUENTIAL = { warmup: 50, n: 400 } as const;
const THROUGHPUT = { sessions: 8, concurrency: 32, durationMs: 3000 } as const;
const ASK_MS = 60_000;

/** The difference of two latency distributions, percentile by percentile. */
function difference(a: Stats, b: Stats): Stats {
  const d = (x: number, y: number) => Math.round((x - y) * 100) / 100;
  return { n: Math.min(a.n, b.n), p50Us: d(a.p50Us, b.p50Us), p99Us: d(a.p99Us, b.p99Us), meanUs: d(a.meanUs, b.meanUs), minUs: d(a.minUs, b.minUs), maxUs: d(a.maxUs, b.maxUs) };
}

async function sequential(child: LoadChild, handle: string, warmup: number, n: number): Promise<SequentialResult> {
  const r = await child.ask<SequentialResult>({ op: "sequential", handle, tool: "text-stats", args: ARGS, warmup, n }, ASK_MS);
  if (n > 0 && r.outcomes["ok"] !== n) throw new Error(`calls failed: ${JSON.stringify(r.outcomes)}`);
  return r;
}

/**
 * The floor under any HTTP gateway here: a bare node:http server answering a canned tools/call
 * result, no token, no MCP, no cell; the same client, the same keep-alive socket.
 */
export async function benchHttpFloor(child: LoadChild): Promise<TimingRow | FailedRow> {
  const base = { id: "gateway.floor.http", section: "gateway", label: "floor: bare node:http server, canned answer (no auth, no MCP, no cell)" } as const;
  const answer = JSON.stringify({ result: { content: [{ type: "text", text: '{"words":15}' }], structuredContent: { words: 15 } }, jsonrpc: "2.0", id: 1 });
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(answer));
  });
  try {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const [handle] = await child.ask<{ handles: string[] }>({ op: "open", url, client: "floor", authorization: "Bearer floor", count: 1 }, ASK_MS).then((r) => r.handles);
    if (handle === undefined) throw new Error("no floor handle");
    const r = await sequential(child, handle, SINGLE.warmup, SINGLE.n);
    await child.ask({ op: "close", handles: [handle] }, ASK_MS);
    return { ...base, kind: "timing", stats: summarise(r.samplesNs), note: "the HTTP hop alone: client, kernel loopback, node:http parse and write" };
  } catch (err) {
    return failedRow(base, err);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/**
 * The same tool and input one call at a time, through the gateway and straight into a session
 * of the same runtime, in alternating blocks so that drift on a shared machine hits both alike.
 */
export async function benchOverhead(child: LoadChild, stack: Stack, floorP50Us: number): Promise<{ rows: Row[]; rawClientCpuUs: number; rawP50Us: number }> {
  const [handle] = await openSessions(child, stack.gateway.url, "raw", await bearer(stack, "analyst", "bench-sequential"), 1);
  if (handle === undefined) throw new Error("no session opened");
  const direct = await stack.runtime.openSession("analyst");
  try {
    const directCall = async () => {
      const r = await direct.call("text-stats", ARGS);
      if (!r.ok) throw new Error(`direct text-stats failed: ${r.error.code}`);
    };
    await sequential(child, handle, OVERHEAD.warmup, 0);
    for (let i = 0; i < OVERHEAD.warmup; i++) await directCall();
    const viaHttp: number[] = [];
    const straight: number[] = [];
    let clientCpuUs = 0;
    let httpCpuUs = 0;
    let directCpuUs = 0;
    for (let b = 0; b < OVERHEAD.blocks; b++) {
      const before = cpuNow();
      const r = await sequential(child, handle, 0, OVERHEAD.perBlock);
      httpCpuUs += cpuNow() - before;
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
    const per = (us: number) => Math.round(us / n);
    const beyondFloor = Number.isFinite(floorP50Us) ? `p50 ${Math.round(added.p50Us - floorP50Us)} us beyond the bare HTTP hop (floor row); ` : "";
    const rows: Row[] = [
      { id: "gateway.sequential.direct", section: "gateway", label: "text-stats, direct Session.call (same runtime and tool)", kind: "timing", stats: dr },
      { id: "gateway.sequential.http", section: "gateway", label: "text-stats through the gateway, JSON answers, raw client", kind: "timing", stats: gw, note: "keep-alive node:http client in a separate process: POST tools/call with a bearer JWT, one call in flight" },
      {
        id: "gateway.overhead",
        section: "gateway",
        label: "added latency: gateway minus direct, per percentile",
        kind: "timing",
        stats: added,
        target: p50Target(added, GATEWAY_OVERHEAD_P50_TARGET_US),
        note: `${OVERHEAD.blocks} alternating blocks of ${OVERHEAD.perBlock} calls each way; ${beyondFloor}control-plane CPU per call ${per(httpCpuUs)} us through the gateway vs ${per(directCpuUs)} us direct; client ${per(clientCpuUs)} us`,
        data: { gatewayCpuUsPerCall: per(httpCpuUs), directCpuUsPerCall: per(directCpuUs), clientCpuUsPerCall: per(clientCpuUs), p50BeyondHttpFloorUs: Math.round(added.p50Us - floorP50Us) },
      },
    ];
    return { rows, rawClientCpuUs: per(clientCpuUs), rawP50Us: gw.p50Us };
  } finally {
    await stack.runtime.closeSession(direct).catch(() => undefined);
    await child.ask({ op: "close", handles: [handle] }, ASK_MS).catch(() => undefined);
  }
}

/** `cordon serve`'s default: the SDK's transport answering each call on an SSE stream. */
export async function benchSse(child: LoadChild, stack: Stack): Promise<Row> {
  const base = { id: "gateway.sequential.sse", section: "gateway", label: "text-stats through the gateway, SSE answers (serve's default), raw client" } as const;
  const sse = await startHttpGateway({ runtime: stack.runtime, verifierFor: verifierFor(stack.issuer), issuers: [stack.issuer.issuer], port: 0 });
  try {
    const [handle] = await openSessions(child, sse.url, "raw", await bearer(stack, "analyst", "bench-sse", sse.url), 1);
    if (handle === undefined) throw new Error("no session opened");
    const r = await sequential(child, handle, SINGLE.warmup, SINGLE.n);
    await child.ask({ op: "close", handles: [handle] }, ASK_MS);
    return { ...base, kind: "timing", stats: summarise(r.samplesNs), note: "the SDK's StreamableHTTPServerTransport (WebStandard Request/Response via @hono/node-server); the guest's log line goes out on the call's stream" };
  } catch (err) {
    return failedRow(base, err);
  } finally {
    await sse.close();
  }
}

export async function benchSdkSequential(child: LoadChild, stack: Stack, raw: { cpuUs: number; p50Us: number }): Promise<Row> {
  const base = { id: "gateway.sequential.sdk", section: "gateway", label: "text-stats through the gateway, JSON answers, SDK Client.callTool" } as const;
  try {
    const [sdk] = await openSessions(child, stack.gateway.url, "sdk", await bearer(stack, "analyst", "bench-sdk-sequential"), 1);
    if (sdk === undefined) throw new Error("no SDK session opened");
    const r = await sequential(child, sdk, SDK_SEQUENTIAL.warmup, SDK_SEQUENTIAL.n);
    await child.ask({ op: "close", handles: [sdk] }, ASK_MS).catch(() => undefined);
    const stats = summarise(r.samplesNs);
    const cpu = Math.round(r.cpuUs / SDK_SEQUENTIAL.n);
    return { ...base, kind: "timing", stats, note: `client CPU per call: SDK ${cpu} us vs raw ${raw.cpuUs} us; p50 ${Math.round(stats.p50Us - raw.p50Us)} us above the raw client (fetch, zod parsing of every message)`, data: { clientCpuUsPerCall: cpu } };
  } catch (err) {
    return failedRow(base, err);
  }
}

/** Direct Session.calls flat out on the same runtime: what the runtime and cells allow without HTTP. */
async function directFlatOut(stack: Stack): Promise<ThroughputResult & { cellsCpuMs: number }> {
  const sessions: Session[] = [];
  try {
    for (let i = 0; i < THROUGHPUT.sessions; i++) sessions.push(await stack.runtime.openSession("analyst"));
    const samples: number[] = [];
    const outcomes: Record<string, number> = {};
    const cells = cpuMsByPid(pidsUnder());
    const cpu = cpuNow();
    const start = process.hrtime.bigint();
    const deadline = performance.now() + THROUGHPUT.durationMs;
    let next = 0;
    await Promise.all(
      Array.from({ length: THROUGHPUT.concurrency }, async () => {
        while (performance.now() < deadline) {
          const s = sessions[next++ % sessions.length] as Session;
          const t = process.hrtime.bigint();
          const r = await s.call("text-stats", ARGS);
          samples.push(Number(process.hrtime.bigint() - t));
          const o = r.ok ? "ok" : r.error.code;
          outcomes[o] = (outcomes[o] ?? 0) + 1;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { count: samples.length, outcomes, stats: summarise(samples), seconds, cpuUs: cpuNow() - cpu, cellsCpuMs: cpuMsBetween(cells, cpuMsByPid(pidsUnder())) };
  } finally {
    for (const s of sessions) await stack.runtime.closeSession(s).catch(() => undefined);
  }
}

/** text-stats flat out: the raw client, the SDK client, and no HTTP at all. */
export async function benchFlatOut(child: LoadChild, stack: Stack): Promise<Row[]> {
  const rows: Row[] = [];
  const shape = `${THROUGHPUT.sessions} sessions, ${THROUGHPUT.concurrency} in flight, ${stack.granularity} cells`;
  for (const client of ["raw", "sdk", "direct"] as const) {
    const label = client === "direct" ? `text-stats flat out, direct Session.call (no HTTP): ${shape}` : `text-stats flat out, ${client === "raw" ? "raw" : "SDK"} client: ${shape}`;
    const base = { id: `gateway.throughput.${client}`, section: "gateway", label } as const;
    try {
      let t: ThroughputResult;
      let note: string;
      if (client === "direct") {
        const d = await directFlatOut(stack);
        t = d;
        note = `CPU per call: control plane ${Math.round(d.cpuUs / d.count)} us, cells ${Math.round((d.cellsCpuMs * 1000) / d.count)} us`;
      } else {
        const handles = await openSessions(child, stack.gateway.url, client, await bearer(stack, "analyst", `bench-throughput-${client}`), THROUGHPUT.sessions);
        try {
          const before = cpuNow();
          const cells = cpuMsByPid(pidsUnder());
          t = await child.ask<ThroughputResult>({ op: "throughput", handles, tool: "text-stats", args: ARGS, concurrency: THROUGHPUT.concurrency, durationMs: THROUGHPUT.durationMs }, THROUGHPUT.durationMs + ASK_MS);
          const gatewayCpu = cpuNow() - before;
          const cellsMs = cpuMsBetween(cells, cpuMsByPid(pidsUnder()));
          note = `CPU per call: gateway process ${Math.round(gatewayCpu / t.count)} us, cells ${Math.round((cellsMs * 1000) / t.count)} us, client ${Math.round(t.cpuUs / t.count)} us`;
        } finally {
          await child.ask({ op: "close", handles }, ASK_MS).catch(() => undefined);
        }
      }
      if (t.stats === null) throw new Error("no calls completed");
      const unexpected = t.count - (t.outcomes["ok"] ?? 0);
      rows.push({ ...base, kind: "timing", stats: t.stats, callsPerSecond: Math.round((t.outcomes["ok"] ?? 0) / t.seconds), note: `${note}${unexpected === 0 ? "" : `; ${unexpected} failed: ${JSON.stringify(t.outcomes)}`}` });
    } catch (err) {
      rows.push(failedRow(base, err));
    }
  }
  return rows;
}
