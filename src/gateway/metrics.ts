// Prometheus metrics derived from the audit log: every number here is a count of durable
// records, so a denial counter that must stay at zero is the seed's "log that must always be
// silent", observable from outside. The witness gauges are the exception: they show the state
// the log's WitnessAnchor reports (AuditLog.witness), read at each scrape.
import type { AuditLog, AuditRecord, WitnessStatus } from "../audit/index.js";
import { classifyRecord, recordWeight } from "./classify-record.js";

/** Label values beyond this many per metric are counted under "other" (bounded cardinality). */
const MAX_LABELS = 128;

type Counter = Map<string, number>;

export interface MetricsOptions {
  /** Enforcer names reported at 0 from the start, so a must-stay-zero series always exists. */
  readonly enforcers?: readonly string[];
  /** Connection refusal reasons reported at 0 from the start (connection-guard.ts). */
  readonly connectionReasons?: readonly string[];
  /** Wall clock, for audit lag. */
  readonly now?: () => number;
}

export class Metrics {
  private readonly calls: Counter = new Map();
  private readonly denials: Counter = new Map();
  private readonly limits: Counter = new Map();
  private readonly sessionsClosed: Counter = new Map();
  private readonly records: Counter = new Map();
  private readonly connections: Counter = new Map();
  private sessionsOpened = 0;
  private cellsOpened = 0;
  private cellsReaped = 0;
  private leftovers = 0;
  private lastSeq = 0;
  private lagSeconds = 0;
  private maxLagSeconds = 0;
  private readonly now: () => number;
  private detachFn: () => void = () => undefined;
  private witnessOf: () => { readonly status: WitnessStatus | null; readonly headSeq: number } = () => ({ status: null, headSeq: 0 });

  constructor(opts: MetricsOptions = {}) {
    this.now = opts.now ?? Date.now;
    for (const e of opts.enforcers ?? []) this.denials.set(e, 0);
    for (const r of opts.connectionReasons ?? []) this.connections.set(r, 0);
  }

  /** Counts every durable record of `audit` from now on, and shows its witness's state (if it has `witness`). */
  static attach(audit: Pick<AuditLog, "onRecord"> & Partial<Pick<AuditLog, "witness" | "head">>, opts: MetricsOptions = {}): Metrics {
    const m = new Metrics(opts);
    m.detachFn = audit.onRecord((r) => m.observe(r));
    m.witnessOf = () => ({ status: audit.witness ?? null, headSeq: Math.max(audit.head?.seq ?? 0, m.lastSeq) });
    return m;
  }

  detach(): void {
    this.detachFn();
  }

  observe(record: AuditRecord): void {
    this.lastSeq = Math.max(this.lastSeq, record.seq);
    const stamped = Date.parse(record.time);
    if (Number.isFinite(stamped)) {
      this.lagSeconds = Math.max(0, (this.now() - stamped) / 1000);
      this.maxLagSeconds = Math.max(this.maxLagSeconds, this.lagSeconds);
    }
    bump(this.records, record.type);
    const kind = classifyRecord(record);
    if (kind === "denial") bump(this.denials, record.enforcer ?? "unknown", recordWeight(record));
    if (kind === "limit") bump(this.limits, record.enforcer ?? "unknown");
    switch (record.type) {
      case "call.allowed":
        bump(this.calls, "allowed");
        break;
      case "call.completed":
        bump(this.calls, "completed");
        break;
      case "call.failed":
        bump(this.calls, "failed");
        break;
      case "call.denied":
        bump(this.calls, "denied");
        break;
      case "limit.exceeded":
        bump(this.calls, "limit");
        break;
      case "connection.refused":
        // A throttle's summary record stands for `count` refusals that were not recorded one by one.
        bump(this.connections, typeof record["reason"] === "string" ? record["reason"] : "unknown", recordWeight(record));
        break;
      case "session.opened":
        this.sessionsOpened += 1;
        if (record["isolation"] === "cell") this.cellsOpened += 1;
        break;
      case "session.closed": {
        bump(this.sessionsClosed, typeof record["reason"] === "string" ? record["reason"] : "unknown");
        if (record.enforcer === "reaper") this.cellsReaped += 1;
        const left = record["leftovers"];
        if (typeof left === "number") this.leftovers += left;
        break;
      }
      default:
        break;
    }
  }

  /** The Prometheus text exposition (version 0.0.4). */
  render(): string {
    const closed = [...this.sessionsClosed.values()].reduce((a, b) => a + b, 0);
    const out: string[] = [];
    family(out, "cordon_calls_total", "counter", "Tool calls by outcome (allowed, completed, failed, denied, limit).", series("outcome", this.calls));
    family(out, "cordon_denials_total", "counter", "Denials by the enforcer that made them; a zero that must stay zero is a silent log.", series("enforcer", this.denials));
    family(out, "cordon_limits_hit_total", "counter", "Limit hits by enforcer.", series("enforcer", this.limits));
    family(out, "cordon_connections_refused_total", "counter", "Connections refused at a cap or cut at a timeout, by reason (summary records count every throttled one).", series("reason", this.connections));
    family(out, "cordon_sessions_opened_total", "counter", "Sessions opened.", [["", this.sessionsOpened]]);
    family(out, "cordon_sessions_closed_total", "counter", "Sessions closed, by reason.", series("reason", this.sessionsClosed));
    family(out, "cordon_sessions_active", "gauge", "Sessions open now.", [["", this.sessionsOpened - closed]]);
    family(out, "cordon_cells_active", "gauge", "Sandboxed cells bound to a session now.", [["", this.cellsOpened - this.cellsReaped]]);
    family(out, "cordon_cell_leftover_processes_total", "counter", "Processes found alive after a cell was reaped (must stay 0).", [["", this.leftovers]]);
    family(out, "cordon_audit_records_total", "counter", "Durable audit records, by type.", series("type", this.records));
    family(out, "cordon_audit_last_seq", "gauge", "Sequence number of the last durable audit record.", [["", this.lastSeq]]);
    family(out, "cordon_audit_lag_seconds", "gauge", "Time from a record's timestamp to its durable write, last record.", [["", this.lagSeconds]]);
    family(out, "cordon_audit_lag_seconds_max", "gauge", "Largest audit lag seen.", [["", this.maxLagSeconds]]);
    const { status, headSeq } = this.witnessOf();
    family(out, "cordon_audit_witness_configured", "gauge", "1 if the audit log's checkpoints are sent to a witness.", [["", status === null ? 0 : 1]]);
    family(out, "cordon_audit_witness_up", "gauge", "1 if the last exchange with the witness succeeded (0 while it is down or refusing).", [["", status?.up === true ? 1 : 0]]);
    family(out, "cordon_audit_witness_failures_total", "counter", "Failed exchanges with the witness since start.", [["", status?.failures ?? 0]]);
    family(out, "cordon_audit_witness_cosigned_seq", "gauge", "Highest audit seq the witness has cosigned.", [["", status?.cosignedSeq ?? 0]]);
    family(out, "cordon_audit_witness_lag_records", "gauge", "Durable audit records after the last witnessed one.", [["", status === null ? 0 : Math.max(0, headSeq - status.cosignedSeq)]]);
    return `${out.join("\n")}\n`;
  }
}

function bump(counter: Counter, label: string, by = 1): void {
  const key = counter.has(label) || counter.size < MAX_LABELS ? label : "other";
  counter.set(key, (counter.get(key) ?? 0) + by);
}

function series(label: string, counter: Counter): [string, number][] {
  return [...counter.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([v, n]) => [`{${label}="${escapeLabel(v)}"}`, n]);
}

function family(out: string[], name: string, type: "counter" | "gauge", help: string, rows: readonly [string, number][]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of rows) out.push(`${name}${labels} ${formatNumber(value)}`);
}

/** Label values escape backslash, double quote and newline (exposition format). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(6);
}
