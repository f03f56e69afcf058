// Per-call host state and the host imports that are not WASI: guest logging, AssemblyScript's
// abort, the memory.grow hook and the fuel refill. Denials are aggregated here.
import { GuestTrap } from "../../errors.js";
import type { Limits } from "../../types/tool.js";
import type { WasiDenial } from "../wasi/index.js";
import { guestFrames } from "./guest-errors.js";
import { Meter } from "./meter.js";
import type { CallHooks, DenialSummary } from "./types.js";
import type { EnforcerName } from "../../enforcers.js";

const MAX_LOG_LINES = 64;
const MAX_LOG_BYTES = 1024;
const MAX_ABORT_BYTES = 512;
/** Progress reports a call may make; later ones are dropped (the last, done === total, always goes). */
export const MAX_PROGRESS_REPORTS = 256;
/** Largest sampling request a guest may pass. */
export const MAX_SAMPLE_REQUEST_BYTES = 64 * 1024;

/** `cordon.sample`'s negative results (guests/README.md). */
export const SAMPLE_CODE = Object.freeze({ badArguments: -1, refused: -2, failed: -3, tooSmall: -4 });

/**
 * Collects denials for one call, one entry per enforcer, with counts per code and operation.
 * A guest that hammers a closed door gets one audit record per enforcer per call, not millions.
 */
export class DenialAggregator {
  private readonly byEnforcer = new Map<EnforcerName, { count: number; codes: Record<string, number>; ops: Record<string, number> }>();
  add(d: { enforcer: EnforcerName; code: string; op: string }): void {
    let entry = this.byEnforcer.get(d.enforcer);
    if (entry === undefined) {
      entry = { count: 0, codes: Object.create(null) as Record<string, number>, ops: Object.create(null) as Record<string, number> };
      this.byEnforcer.set(d.enforcer, entry);
    }
    entry.count += 1;
    entry.codes[d.code] = (entry.codes[d.code] ?? 0) + 1;
    entry.ops[d.op] = (entry.ops[d.op] ?? 0) + 1;
  }
  readonly onWasiDenied = (d: WasiDenial): void => this.add(d);
  summary(): DenialSummary[] {
    return [...this.byEnforcer].map(([enforcer, e]) => ({ enforcer, count: e.count, codes: { ...e.codes }, ops: { ...e.ops } }));
  }
}

export class CallContext {
  readonly denials = new DenialAggregator();
  readonly logs: string[] = [];
  readonly meter: Meter;
  memory: WebAssembly.Memory | undefined;

  /** Progress reports passed on, and the last one (reports must increase). */
  progressReports = 0;
  private lastProgress = -1;
  /** Sampling requests made through `cordon.sample`. */
  sampleRequests = 0;

  constructor(
    readonly tool: string,
    limits: Limits,
    private readonly onLog: ((tool: string, line: string) => void) | undefined,
    fuelOverride?: number,
    private readonly hooks: CallHooks = {},
  ) {
    this.meter = new Meter(fuelOverride ?? limits.fuel, limits.wallClockMs, undefined, hooks.slice);
  }

  private bytes(ptr: number, len: number): Uint8Array | undefined {
    const mem = this.memory;
    if (mem === undefined) return undefined;
    const p = ptr >>> 0;
    const n = len >>> 0;
    if (p + n > mem.buffer.byteLength) return undefined;
    return new Uint8Array(mem.buffer, p, n);
  }

  /** `cordon.log(ptr, len)`: one UTF-8 line, capped; surfaced as an event, never audited raw. */
  readonly log = (ptr: number, len: number): void => {
    const raw = this.bytes(ptr, Math.min(len >>> 0, MAX_LOG_BYTES));
    if (raw === undefined) return;
    if (this.logs.length >= MAX_LOG_LINES) return;
    const line = new TextDecoder("utf-8", { fatal: false }).decode(raw);
    this.logs.push(line);
    this.onLog?.(this.tool, line);
  };

  /**
   * `cordon.progress(done, total)` (unsigned; total 0: unknown): passed on only if it increases,
   * and at most MAX_PROGRESS_REPORTS times per call besides the final one (done >= total).
   */
  readonly progress = (done: number, total: number): void => {
    const d = done >>> 0;
    const t = total >>> 0;
    const final = t > 0 && d >= t;
    if (d <= this.lastProgress) return;
    if (!final && this.progressReports >= MAX_PROGRESS_REPORTS) return;
    this.lastProgress = d;
    this.progressReports += 1;
    this.hooks.progress?.(d, t);
  };

  /**
   * `cordon.sample(req, reqLen, out, outCap) -> i32`: the request's JSON to the client's model
   * through the control plane; the answer's JSON at `out`, its length returned, or a negative
   * code. The guest waits; its deadline keeps running.
   */
  readonly sample = (reqPtr: number, reqLen: number, outPtr: number, outCap: number): number => {
    const req = this.bytes(reqPtr, reqLen);
    const out = this.bytes(outPtr, outCap);
    if (req === undefined || out === undefined || reqLen >>> 0 > MAX_SAMPLE_REQUEST_BYTES) return SAMPLE_CODE.badArguments;
    this.sampleRequests += 1;
    if (this.hooks.sample === undefined) return SAMPLE_CODE.refused;
    this.meter.checkDeadline();
    const answer = this.hooks.sample(req.slice(), this.meter.deadlineAt);
    if (typeof answer === "number") return answer < 0 ? answer : SAMPLE_CODE.failed;
    // The memory may have been replaced (grown) meanwhile: look it up again.
    const target = this.bytes(outPtr, outCap);
    if (target === undefined) return SAMPLE_CODE.badArguments;
    if (answer.byteLength > target.byteLength) return SAMPLE_CODE.tooSmall;
    target.set(answer);
    return answer.byteLength;
  };

  /** AssemblyScript's `env.abort(msg, file, line, col)`: a trap carrying the guest's message. */
  readonly abort = (msgPtr: number): never => {
    let message: string | null = null;
    const header = this.bytes((msgPtr >>> 0) - 4, 4);
    if (header !== undefined && msgPtr >>> 0 >= 4) {
      const len = new DataView(header.buffer, header.byteOffset, 4).getUint32(0, true);
      const body = this.bytes(msgPtr, Math.min(len, MAX_ABORT_BYTES));
      if (body !== undefined) message = new TextDecoder("utf-16le").decode(body);
    }
    const frames = guestFrames(new Error("abort"));
    throw new GuestTrap("abort", frames[0]?.split("@")[0] ?? null, frames, message);
  };

  /** Replaces every `memory.grow`: the host grows through the JS API, so a refusal is seen. */
  readonly grow = (delta: number): number => {
    const pages = delta >>> 0;
    if (this.memory === undefined) {
      this.denials.add({ enforcer: "wasm-memory-cap", code: "ERR_LIMIT_MEMORY", op: "memory.grow" });
      return -1;
    }
    try {
      return this.memory.grow(pages);
    } catch {
      this.denials.add({ enforcer: "wasm-memory-cap", code: "ERR_LIMIT_MEMORY", op: "memory.grow" });
      return -1;
    }
  };

}
