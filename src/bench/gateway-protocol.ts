// What the gateway benchmark's parent and its load-generator child say to each other over IPC.
import type { Stats } from "./measure.js";

/** The text every text-stats call of the gateway benchmark measures (direct and over HTTP alike). */
export const BENCH_TEXT = "cordon serves tools to agents; every call is audited, and every line of policy names its enforcer.";

/** The kinds of request the mixed load makes. */
export type OpKind =
  | "text-stats"
  | "notes-add"
  | "notes-list"
  | "notes-clear"
  | "bad-token"
  | "hijack"
  | "fault-trap"
  | "fault-loop"
  | "fault-killed";

export interface MixedPlan {
  /** Sessions the ordinary callers use, round-robin. */
  readonly sessions: readonly string[];
  /** Operator sessions for the fault lane (trap, loop, killed), one call at a time. */
  readonly faultSessions: readonly string[];
  /** Authorization header values that must each get 401 (null: no header at all). */
  readonly badAuthorizations: readonly { readonly kind: string; readonly authorization: string | null }[];
  /** A valid token of a principal that owns none of the sessions: must get 404. */
  readonly hijacker: string;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly faultPauseMs: number;
}

export interface OpResult {
  readonly count: number;
  /** Outcome ("ok", "isError:<code>", "http:<status>", ...) -> how many. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly stats: Stats | null;
}

export interface MixedResult {
  readonly seconds: number;
  /** CPU the load generator itself used (user + system). */
  readonly cpuUs: number;
  readonly ops: Partial<Record<OpKind, OpResult>>;
  /** Requests answered in each second of the run. */
  readonly timeline: readonly number[];
}

export type LoadRequest =
  /** "floor": no MCP session at all (a bare HTTP server); calls carry a dummy session id. */
  | { readonly op: "open"; readonly url: string; readonly client: "raw" | "sdk" | "floor"; readonly authorization: string; readonly count: number }
  | { readonly op: "sequential"; readonly handle: string; readonly tool: string; readonly args: Record<string, unknown>; readonly warmup: number; readonly n: number }
  | { readonly op: "throughput"; readonly handles: readonly string[]; readonly tool: string; readonly args: Record<string, unknown>; readonly concurrency: number; readonly durationMs: number }
  | { readonly op: "mixed"; readonly plan: MixedPlan }
  | { readonly op: "close"; readonly handles?: readonly string[] }
  /** Opens `connections` slowloris connections spread over `addresses`; answers once all are open. */
  | { readonly op: "slowloris"; readonly url: string; readonly connections: number; readonly addresses: readonly string[]; readonly everyMs: number }
  | { readonly op: "slowloris-census" }
  /** Closes every slow connection; answers with the final census. */
  | { readonly op: "slowloris-stop" };

/** What a slowloris client saw: connections held now and at least, and what the server did to them. */
export interface SlowlorisCensus {
  readonly open: number;
  /** The fewest held at once since all were first open (a cut one is reopened at once). */
  readonly minOpen: number;
  readonly opened: number;
  /** Closed by the server, and how many of those with a 408 first. */
  readonly cutByServer: number;
  readonly answered408: number;
  /** Refused at a connection cap (429/503); never reopened. */
  readonly refusedAtCap: number;
  /** Header bytes sent in all. */
  readonly bytesSent: number;
}

export interface SequentialResult {
  readonly samplesNs: readonly number[];
  /** CPU the load generator used for these calls. */
  readonly cpuUs: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

export interface ThroughputResult extends OpResult {
  readonly seconds: number;
  readonly cpuUs: number;
}

export type LoadReply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string };
