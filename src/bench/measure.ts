// Timing: run a case through a warm-up, then time each iteration with process.hrtime.bigint()
// and summarise the samples. No I/O, no printing; the caller decides what a sample means.
import { setImmediate as yieldToLoop } from "node:timers/promises";

export interface Stats {
  readonly n: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  readonly minUs: number;
  readonly maxUs: number;
}

export interface Plan {
  readonly warmup: number;
  readonly iterations: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Summarises samples given in nanoseconds; the figures are in microseconds. */
export function summarise(samplesNs: readonly number[]): Stats {
  if (samplesNs.length === 0) throw new RangeError("summarise: no samples");
  const us = samplesNs.map((ns) => ns / 1000).sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    n: us.length,
    p50Us: round(percentile(us, 50)),
    p99Us: round(percentile(us, 99)),
    meanUs: round(us.reduce((s, x) => s + x, 0) / us.length),
    minUs: round(us[0] ?? Number.NaN),
    maxUs: round(us[us.length - 1] ?? Number.NaN),
  };
}

/** Times a synchronous function; `fn` receives the iteration index. */
export function timeSync(plan: Plan, fn: (i: number) => void): Stats {
  for (let i = 0; i < plan.warmup; i++) fn(i);
  const samples = new Array<number>(plan.iterations);
  for (let i = 0; i < plan.iterations; i++) {
    const start = process.hrtime.bigint();
    fn(i);
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  return summarise(samples);
}

/** Times an async function, one call at a time (each awaited before the next starts). */
export async function timeAsync(plan: Plan, fn: (i: number) => Promise<void>): Promise<Stats> {
  for (let i = 0; i < plan.warmup; i++) await fn(i);
  const samples = new Array<number>(plan.iterations);
  for (let i = 0; i < plan.iterations; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  return summarise(samples);
}

/** Nanoseconds one synchronous call of `fn` takes. */
export function timeOnce(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}

/** Lets background work (V8's tier-up compiles, pending I/O callbacks) settle between cases. */
export async function settle(ms = 50): Promise<void> {
  await yieldToLoop();
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
}
