// What a benchmark case produces: plain data, printed by report.ts and written to bench.json.
import type { Stats } from "./measure.js";

export type Section = "call" | "reactor" | "load" | "fuel-runs" | "fuel" | "cells" | "identity" | "integrity" | "gateway" | "distribution" | "containers";

/** An upper bound on a figure. */
export interface Target {
  /** Which figure the target bounds. */
  readonly metric: "p50Us" | "ratio" | "MB" | "processes";
  readonly max: number;
  readonly pass: boolean;
}

/** A lower bound: throughput. */
export interface MinTarget {
  readonly metric: "callsPerSecond";
  readonly min: number;
  readonly pass: boolean;
}

interface RowBase {
  /** Stable key for tooling that compares runs, e.g. `call.echo.cell`. */
  readonly id: string;
  readonly section: Section;
  readonly label: string;
  readonly note?: string;
}

export interface TimingRow extends RowBase {
  readonly kind: "timing";
  readonly stats: Stats;
  readonly target?: Target | MinTarget;
  /** Completed calls per second of wall time, where calls overlapped. */
  readonly callsPerSecond?: number;
  readonly data?: Readonly<Record<string, number | string>>;
}

/** One run's p50 over another's: fuel metered vs unmetered, or a call through a cell vs in-process. */
export interface RatioRow extends RowBase {
  readonly kind: "ratio";
  /** metered (the subject) p50 / unmetered (the baseline) p50. */
  readonly ratio: number;
  /** The same ratio on the fastest runs, less sensitive to scheduling noise. */
  readonly ratioOfMin: number;
  /** The subject: the metered run, or the call through a cell. */
  readonly metered: Stats;
  /** The baseline: the unmetered run, or the in-process call. */
  readonly unmetered: Stats;
  readonly input: string;
  readonly target?: Target;
}

/** A case that could not run: reported, never a crash. */
export interface FailedRow extends RowBase {
  readonly kind: "failed";
  readonly error: string;
}

/** A single measured quantity that is not a duration, e.g. a cell's resident memory. */
export interface ValueRow extends RowBase {
  readonly kind: "value";
  readonly value: number;
  /** MB = 2^20 bytes; sessions/GiB = how many sessions fit in 2^30 bytes. */
  readonly unit: "MB" | "sessions/GiB" | "processes";
  /** One line for the table: what else was measured alongside. */
  readonly detail: string;
  readonly data?: Readonly<Record<string, number | string>>;
  readonly target?: Target;
}

/** A statement rather than a measurement: a skipped baseline, an estimate derived from other rows. */
export interface InfoRow extends RowBase {
  readonly kind: "info";
  readonly text: string;
  readonly data?: Readonly<Record<string, number | string>>;
}

export type Row = TimingRow | RatioRow | FailedRow | ValueRow | InfoRow;

export function failedRow(base: Omit<FailedRow, "kind" | "error">, err: unknown): FailedRow {
  const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { ...base, kind: "failed", error };
}

export function mbTarget(mb: number, maxMb: number): Target {
  return { metric: "MB", max: maxMb, pass: mb <= maxMb };
}

export function ratioTarget(ratio: number, max: number): Target {
  return { metric: "ratio", max, pass: ratio <= max };
}

export function callsPerSecondTarget(callsPerSecond: number, min: number): MinTarget {
  return { metric: "callsPerSecond", min, pass: callsPerSecond >= min };
}

export function p50Target(stats: Stats, maxUs: number): Target {
  return { metric: "p50Us", max: maxUs, pass: stats.p50Us <= maxUs };
}
