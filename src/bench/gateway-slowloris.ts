// Real calls through the gateway while a slowloris attack holds 500 connections open: p50 of
// one text-stats call at a time on an idle gateway (a block before and a block after) against
// the same calls with 500 slow connections held, side by side with the ratio (target ≤ 2×).
//
// The 500 slow connections come from a second forked load generator, spread over the loopback
// source addresses 127.0.0.2 to 127.0.0.11 (50 each, under the default per-address cap of 64;
// Linux routes all of 127/8 to lo), while the measuring client calls from 127.0.0.1. So the
// gateway's default limits hold as they are: the per-address cap stops one address from taking
// more than its share, and this case shows what many addresses at their share cost everyone
// else. The loaded phase runs past the default 10 s header clock, so every slow connection is
// cut (408, one record each up to the throttle, then one summary) and reopened at once, as an
// attacker would: the figure includes cutting and re-admitting them.
import type { AuditRecord } from "../audit/index.js";
import { DEFAULT_CONNECTION_LIMITS } from "../gateway/connection-limits.js";
import { LoadChild } from "./gateway-harness.js";
import { BENCH_TEXT, type SequentialResult, type SlowlorisCensus } from "./gateway-protocol.js";
import { bearer, openSessions, type Stack } from "./gateway-stack.js";
import { summarise } from "./measure.js";
import { ratioTarget, type Row } from "./rows.js";

export const SLOWLORIS_RATIO_TARGET = 2;

const SHAPE = {
  connections: 500,
  addresses: Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`),
  /** One header byte per connection per second. */
  everyMs: 1000,
  warmup: 200,
  /** Calls in each idle block (one before the attack, one after). */
  idleBlock: 500,
  /** The loaded phase lasts at least this long: past the default header clock, so every slow connection is cut and reopened once. */
  loadedMs: 13_000,
  loadedBlock: 250,
  /** Sessions the loaded phase rotates over, block by block: a session serves at most 10,000 calls. */
  loadedSessions: 4,
} as const;
const ASK_MS = 120_000;

async function calls(child: LoadChild, handle: string, n: number, warmup = 0): Promise<number[]> {
  const r = await child.ask<SequentialResult>({ op: "sequential", handle, tool: "text-stats", args: { text: BENCH_TEXT }, warmup, n }, ASK_MS);
  if (r.outcomes["ok"] !== n) throw new Error(`calls failed: ${JSON.stringify(r.outcomes)}`);
  return [...r.samplesNs];
}

export async function benchSlowloris(child: LoadChild, stack: Stack): Promise<Row[]> {
  const url = stack.gateway.url;
  const [handle, ...rotation] = await openSessions(child, url, "raw", await bearer(stack, "analyst", "bench-slowloris"), 1 + SHAPE.loadedSessions);
  if (handle === undefined || rotation.length === 0) throw new Error("no session opened");
  const slow = LoadChild.start();
  const refusals: AuditRecord[] = [];
  let stopCounting = (): void => undefined;
  try {
    const idle = await calls(child, handle, SHAPE.idleBlock, SHAPE.warmup);
    stopCounting = stack.audit.onRecord((r) => {
      if (r.type === "connection.refused") refusals.push(r);
    });
    const began = performance.now();
    const { open } = await slow.ask<{ open: number }>({ op: "slowloris", url, connections: SHAPE.connections, addresses: SHAPE.addresses, everyMs: SHAPE.everyMs }, ASK_MS);
    const heldByGateway = stack.gateway.connectionCount();
    const loaded: number[] = [];
    for (let block = 0; performance.now() - began < SHAPE.loadedMs; block++) loaded.push(...(await calls(child, rotation[block % rotation.length] ?? handle, SHAPE.loadedBlock)));
    const census = await slow.ask<SlowlorisCensus>({ op: "slowloris-stop" }, ASK_MS);
    const loadedSeconds = (performance.now() - began) / 1000;
    idle.push(...(await calls(child, handle, SHAPE.idleBlock)));
    // The throttle writes its summary of the cut connections when its record window ends.
    const summaryBy = performance.now() + DEFAULT_CONNECTION_LIMITS.connectionRecordWindowMs + 2000;
    while (census.cutByServer > DEFAULT_CONNECTION_LIMITS.connectionRecordsPerWindow && !refusals.some((r) => r["suppressed"] === true) && performance.now() < summaryBy) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stopCounting();

    const idleStats = summarise(idle);
    const loadedStats = summarise(loaded);
    const ratio = Math.round((loadedStats.p50Us / idleStats.p50Us) * 1000) / 1000;
    const ratioOfMin = Math.round((loadedStats.minUs / idleStats.minUs) * 1000) / 1000;
    const recorded = refusals.filter((r) => r["suppressed"] !== true).length;
    const summarised = refusals.filter((r) => r["suppressed"] === true).reduce((n, r) => n + (typeof r["count"] === "number" ? r["count"] : 0), 0);
    const attack = `${SHAPE.connections} slowloris connections from ${SHAPE.addresses[0]}-${SHAPE.addresses.at(-1)} (${SHAPE.connections / SHAPE.addresses.length} per address), one header byte per ${SHAPE.everyMs / 1000} s`;
    const held = `${open} open at once (the gateway counted ${heldByGateway} open connections at that moment), never fewer than ${census.minOpen} over ${loadedSeconds.toFixed(1)} s`;
    const cut = `${census.cutByServer} cut by the server (${census.answered408} with 408) and reopened, ${census.refusedAtCap} refused at a cap; ${recorded} connection.refused records + summaries of ${summarised} more`;
    return [
      { id: "gateway.slowloris.idle", section: "gateway", label: "text-stats through the gateway, idle (blocks before and after the attack)", kind: "timing", stats: idleStats },
      { id: "gateway.slowloris.loaded", section: "gateway", label: `the same with ${SHAPE.connections} slow connections held open`, kind: "timing", stats: loadedStats, note: `${attack}; ${held}; ${cut}` },
      {
        id: "gateway.slowloris.ratio",
        section: "gateway",
        label: `p50 with ${SHAPE.connections} slow connections / idle p50 — target ≤ ${SLOWLORIS_RATIO_TARGET}x`,
        kind: "ratio",
        ratio,
        ratioOfMin,
        metered: loadedStats,
        unmetered: idleStats,
        input: attack,
        target: ratioTarget(ratio, SLOWLORIS_RATIO_TARGET),
        note: `idle p50 ${idleStats.p50Us} us vs ${loadedStats.p50Us} us under the attack (min ${idleStats.minUs} vs ${loadedStats.minUs} us); the gateway's default connection limits`,
      },
    ];
  } finally {
    stopCounting();
    await slow.stop();
    await child.ask({ op: "close", handles: [handle, ...rotation] }, ASK_MS).catch(() => undefined);
  }
}
