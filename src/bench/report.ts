// Turns rows into the printed tables and the bench.json document.
import { cpus, arch, loadavg, platform, release, totalmem, type as osType } from "node:os";
import { formatTable } from "../cli/table.js";
import type { MinTarget, RatioRow, Row, Section, Target, TimingRow, ValueRow } from "./rows.js";

export interface MachineFacts {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  readonly osType: string;
  readonly osRelease: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews figures. */
  readonly loadAverageAtStart: readonly number[];
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    osType: osType(),
    osRelease: release(),
    cpuModel: list[0]?.model.trim() ?? "unknown",
    cpuCount: list.length,
    totalMemoryBytes: totalmem(),
    loadAverageAtStart: loadAverage(),
  };
}

export function loadAverage(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

const TITLES: Readonly<Record<Section, string>> = {
  call: 'Per-call latency: echo, {"x":1} on stdin -> stdout, fresh instance per call (cordon vs node:wasi vs Extism)',
  reactor: "Reactor call (instance persists across calls)",
  load: "Loading a tool: instrument -> compile -> instantiate",
  "fuel-runs": "CPU-bound runs, one fresh instance per run",
  fuel: "Fuel-metering overhead (p50 / p50; min / min alongside)",
  cells: "Sandboxed cells, per-session and per-role: session start, one call, idle memory, sessions per GiB; bare bwrap and srt floors",
  identity: "Identity: bearer-token verification and signed-artifact checks",
  integrity: "Integrity: signed audit checkpoints (records/s into a file log), runtime lock verification",
  gateway: "MCP gateway over loopback HTTP: added latency over a direct Session.call, mixed load, memory, leftovers",
  distribution: "Distribution: pull and verify the example release from a loopback registry, cold and from cache, against skopeo copy",
  containers: "Container tier: a cold call under crun and runsc against the bare runtime, the warm pool, idle memory, podman",
};

export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return "-";
  return us < 1000 ? `${us.toFixed(1)} us` : `${(us / 1000).toFixed(2)} ms`;
}

function formatTarget(t: Target | MinTarget | undefined): string {
  if (t === undefined) return "";
  const bound =
    t.metric === "callsPerSecond"
      ? `>= ${t.min} calls/s`
      : t.metric === "ratio"
        ? `<= ${t.max}x`
        : t.metric === "MB"
          ? `<= ${t.max} MB`
          : t.metric === "processes"
            ? `<= ${t.max} processes`
            : `p50 <= ${formatDuration(t.max)}`;
  return `${bound}: ${t.pass ? "PASS" : "MISS"}`;
}

/** Collects a section's notes as numbered footnotes: identical notes share a number. */
class Footnotes {
  readonly #notes: string[] = [];
  mark(label: string, note: string | undefined): string {
    if (note === undefined) return label;
    let i = this.#notes.indexOf(note);
    if (i < 0) i = this.#notes.push(note) - 1;
    return `${label} [${i + 1}]`;
  }
  lines(): string[] {
    return this.#notes.map((n, i) => `  [${i + 1}] ${n}`);
  }
}

function formatValue(r: ValueRow): string {
  if (r.unit === "sessions/GiB" || r.unit === "processes") return `${Math.floor(r.value)} ${r.unit}`;
  return `${r.value.toFixed(Math.abs(r.value) < 1 ? 2 : 1)} ${r.unit}`;
}

function timingTable(rows: readonly Row[], notes: Footnotes): string {
  const body = rows.map((r) => {
    switch (r.kind) {
      case "timing": {
        const s = r.stats;
        const rate = r.callsPerSecond === undefined ? "" : `${r.callsPerSecond} calls/s`;
        return [notes.mark(r.label, r.note), formatDuration(s.p50Us), formatDuration(s.p99Us), formatDuration(s.meanUs), String(s.n), [formatTarget(r.target), rate].filter((x) => x !== "").join("; ")];
      }
      case "failed":
        return [notes.mark(r.label, r.note), "FAILED", "", "", "", r.error];
      case "ratio":
        return [notes.mark(r.label, r.note), `${r.ratio.toFixed(3)}x`, "", "", "", formatTarget(r.target)];
      case "value":
        return [notes.mark(r.label, r.note), formatValue(r), "", "", "", [formatTarget(r.target), r.detail].filter((x) => x !== "").join("; ")];
      case "info":
        return [notes.mark(r.label, r.note), "-", "", "", "", r.text];
    }
  });
  return formatTable(["case", "p50", "p99", "mean", "n", "target / error"], body);
}

function ratioTable(rows: readonly Row[], notes: Footnotes): string {
  const body = rows.map((r) => {
    switch (r.kind) {
      case "ratio":
        return [
          notes.mark(r.label, r.note),
          `${r.ratio.toFixed(3)}x`,
          `${r.ratioOfMin.toFixed(3)}x`,
          formatDuration(r.metered.p50Us),
          formatDuration(r.unmetered.p50Us),
          r.input,
          formatTarget(r.target) || "-",
        ];
      case "failed":
        return [notes.mark(r.label, r.note), "FAILED", "", "", "", "", r.error];
      case "timing":
        return [notes.mark(r.label, r.note), "", "", formatDuration(r.stats.p50Us), "", "", ""];
      case "value":
      case "info":
        return [notes.mark(r.label, r.note), "", "", "", "", "", ""];
    }
  });
  return formatTable(["case", "ratio", "min/min", "metered p50", "baseline p50", "input", "target"], body);
}

export interface RunFacts {
  readonly timestamp: string;
  readonly seconds: number;
  readonly loadAverageAtEnd: readonly number[];
}

export function formatReport(machine: MachineFacts, run: RunFacts, rows: readonly Row[], notes: readonly string[]): string {
  const out: string[] = [
    `cordon benchmark  ${run.timestamp}`,
    `node ${machine.node} (V8 ${machine.v8}), ${machine.cpuCount} x ${machine.cpuModel}, ${machine.osType} ${machine.osRelease} ${machine.arch}`,
    `load average (1/5/15 min): ${machine.loadAverageAtStart.join(" ")} at start, ${run.loadAverageAtEnd.join(" ")} at end`,
  ];
  for (const section of Object.keys(TITLES) as Section[]) {
    const inSection = rows.filter((r) => r.section === section);
    if (inSection.length === 0) continue;
    const notes = new Footnotes();
    const table = section === "fuel" ? ratioTable(inSection, notes) : timingTable(inSection, notes);
    out.push("", `== ${TITLES[section]}`, table, ...notes.lines());
  }
  const targeted = rows.flatMap((r) => (r.kind !== "failed" && r.kind !== "info" && r.target !== undefined ? [r] : []));
  const failed = rows.filter((r) => r.kind === "failed");
  out.push("", "== Targets");
  for (const r of targeted) out.push(`  ${formatTarget(r.target).padEnd(24)} ${r.label}: ${headline(r)}`);
  for (const r of failed) out.push(`  FAILED                   ${r.label}: ${r.error}`);
  out.push("", "== Notes", ...notes.map((n) => `  - ${n}`));
  out.push("", `total ${run.seconds.toFixed(1)} s`);
  return out.join("\n");
}

function headline(r: TimingRow | RatioRow | ValueRow): string {
  if (r.kind === "ratio") return `${r.ratio.toFixed(3)}x`;
  if (r.kind === "value") return `${formatValue(r)} (${r.detail})`;
  const rate = r.callsPerSecond === undefined ? "" : `${r.callsPerSecond} calls/s, `;
  return `${rate}p50 ${formatDuration(r.stats.p50Us)}, p99 ${formatDuration(r.stats.p99Us)}`;
}

export interface BenchDocument {
  readonly schema: 1;
  readonly timestamp: string;
  readonly durationSeconds: number;
  readonly loadAverageAtEnd: readonly number[];
  readonly machine: MachineFacts;
  readonly units: string;
  readonly rows: readonly Row[];
  readonly notes: readonly string[];
}

export function benchDocument(machine: MachineFacts, run: RunFacts, rows: readonly Row[], notes: readonly string[]): BenchDocument {
  return {
    schema: 1,
    timestamp: run.timestamp,
    durationSeconds: Math.round(run.seconds * 10) / 10,
    loadAverageAtEnd: run.loadAverageAtEnd,
    machine,
    units: "all durations in microseconds (p50Us, p99Us, meanUs, minUs, maxUs); ratios are plain numbers; value rows carry their unit (MB = 2^20 bytes, sessions/GiB per 2^30 bytes)",
    rows,
    notes,
  };
}
