// Turns the gateway benchmark's raw results into rows: the mixed load (throughput, latency,
// what each kind of request came back as, checked against the audit log), where the CPU went,
// and the gateway process's memory over time. Pure: no I/O.
import type { MemorySample } from "./gateway-harness.js";
import type { MixedResult, OpKind } from "./gateway-protocol.js";
import { callsPerSecondTarget, type Row } from "./rows.js";

/** Audit records seen during a phase, by `type|enforcer`. */
export type AuditCounts = ReadonlyMap<string, number>;

/** What each kind of request must come back as. */
const EXPECTED: Readonly<Record<OpKind, string>> = {
  "text-stats": "ok",
  "notes-add": "ok",
  "notes-list": "ok",
  "notes-clear": "ok",
  "bad-token": "http:401",
  hijack: "http:404",
  "fault-trap": "isError:ERR_GUEST_TRAP",
  "fault-loop": "isError:ERR_LIMIT_EXCEEDED",
  "fault-killed": "isError:ERR_LIMIT_EXCEEDED",
};

export interface MixedInput {
  /** The run's name, in row ids: per-session, per-role, per-role-file. */
  readonly name: string;
  readonly granularity: "per-session" | "per-role";
  readonly audit: "memory" | "file";
  readonly result: MixedResult;
  readonly auditCounts: AuditCounts;
  readonly sessions: number;
  readonly concurrency: number;
  /** CPU of this (the gateway's) process during the run. */
  readonly gatewayCpuUs: number;
  /** CPU of the cells during the run. */
  readonly cellsCpuMs: number;
  readonly target: number | null;
}

const sumOf = (counts: AuditCounts, prefix: string) => [...counts].reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0);

export function mixedRows(input: MixedInput): Row[] {
  const { result, name } = input;
  const ops = Object.entries(result.ops) as [OpKind, NonNullable<MixedResult["ops"][OpKind]>][];
  let requests = 0;
  let answered = 0;
  let unexpected = 0;
  const parts: string[] = [];
  for (const [kind, op] of ops) {
    requests += op.count;
    for (const [outcome, n] of Object.entries(op.outcomes)) {
      if (!outcome.startsWith("http:") && outcome !== "transport-error") answered += n;
      if (outcome !== EXPECTED[kind]) unexpected += n;
    }
    const odd = Object.entries(op.outcomes).filter(([o]) => o !== EXPECTED[kind]);
    parts.push(`${kind} ${op.count}${odd.length === 0 ? "" : ` (unexpected: ${odd.map(([o, n]) => `${o} x${n}`).join(", ")})`}`);
  }
  const rate = Math.round(answered / result.seconds);
  const id = `gateway.mixed.${name}`;
  const audited = input.audit === "memory" ? "memory audit" : "file audit (fdatasync)";
  const label = `mixed load, ${input.granularity} cells, ${audited}: ${input.sessions} sessions, 2 roles, ${input.concurrency} in flight + faults`;
  const textStats = result.ops["text-stats"]?.stats;
  const rows: Row[] = [];
  if (textStats === undefined || textStats === null) {
    rows.push({ id, section: "gateway", label, kind: "failed", error: `no text-stats call completed; outcomes: ${parts.join("; ")}` });
    return rows;
  }
  const unauthorized = result.ops["bad-token"]?.outcomes["http:401"] ?? 0;
  const hijacks = result.ops["hijack"]?.outcomes["http:404"] ?? 0;
  const authnRecords = sumOf(input.auditCounts, "authn.denied|");
  const bindingRecords = input.auditCounts.get("session.denied|session-binding") ?? 0;
  rows.push({
    id,
    section: "gateway",
    label,
    kind: "timing",
    stats: textStats,
    callsPerSecond: rate,
    ...(input.target === null ? {} : { target: callsPerSecondTarget(rate, input.target) }),
    note: "calls/s counts tools/call requests answered with a result (success or isError) over the run's wall time; the latency shown is text-stats's under that load",
    data: { seconds: Math.round(result.seconds * 10) / 10, requests, answered, unexpected, requestsPerSecond: Math.round(requests / result.seconds) },
  });
  rows.push({
    id: `${id}.outcomes`,
    section: "gateway",
    label: `  what came back (${name})`,
    kind: "info",
    text: `${parts.join("; ")}; ${unexpected} unexpected; 401s ${unauthorized} = authn.denied records ${authnRecords}${unauthorized === authnRecords ? "" : " (MISMATCH)"}; hijack 404s ${hijacks} = session-binding records ${bindingRecords}${hijacks === bindingRecords ? "" : " (MISMATCH)"}`,
    data: { unexpected, unauthorized, authnRecords, hijacks, bindingRecords },
  });
  const per = (us: number) => Math.round(us / requests);
  const budget = Math.round((2 * 1e6) / Math.max(1, requests / result.seconds));
  rows.push({
    id: `${id}.cpu`,
    section: "gateway",
    label: `  CPU per request (${name})`,
    kind: "info",
    text: `gateway process ${per(input.gatewayCpuUs)} us, cells ${per(input.cellsCpuMs * 1000)} us, load generator ${per(result.cpuUs)} us; at this rate 2 cores give ${budget} us per request`,
    data: { gatewayUs: per(input.gatewayCpuUs), cellsUs: per(input.cellsCpuMs * 1000), clientUs: per(result.cpuUs), budgetUs: budget },
  });
  return rows;
}

/** Peak RSS during the run, with start/peak/end and per-phase peaks. */
export function memoryRow(samples: readonly MemorySample[]): Row {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const base = { id: "gateway.memory", section: "gateway", label: "gateway process memory, sampled every 250 ms" } as const;
  if (first === undefined || last === undefined) return { ...base, kind: "failed", error: "no samples" };
  const peak = samples.reduce((a, b) => (b.rssMB > a.rssMB ? b : a), first);
  const heapPeak = Math.max(...samples.map((s) => s.heapUsedMB));
  const phases: Record<string, string> = {};
  for (const s of samples) {
    const [rss, heap] = (phases[s.phase] ?? "0/0").split("/").map(Number) as [number, number];
    phases[s.phase] = `${Math.max(rss, s.rssMB)}/${Math.max(heap, s.heapUsedMB)}`;
  }
  const mixed = samples.filter((s) => s.phase.startsWith("mixed ")).map((s) => `${s.t}:${s.rssMB}:${s.heapUsedMB}`).join(" ");
  return {
    ...base,
    kind: "value",
    value: peak.rssMB,
    unit: "MB",
    detail: `RSS ${first.rssMB} -> peak ${peak.rssMB} (${peak.phase}) -> ${last.rssMB} MB at the end; heap used ${first.heapUsedMB} -> peak ${heapPeak} -> ${last.heapUsedMB} MB after a full GC; ${samples.length} samples`,
    data: { ...Object.fromEntries(Object.entries(phases).map(([k, v]) => [`peak: ${k} (rss/heap MB)`, v])), "during the mixed loads (ms:rssMB:heapMB)": mixed },
    note: "this process also ran the benchmark's earlier sections; cells are separate processes and not included",
  };
}
