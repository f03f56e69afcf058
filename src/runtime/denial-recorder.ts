// Sandbox denials at run time (a seccomp refusal in a cell or a tool process) become audit
// records: one per denial, naming the enforcer, the syscall, the session and the tool, up to a
// burst per session and window; past it, the rest are counted and written as one summary record
// when the window ends or the session closes, so a loop cannot flood the log and nothing is lost.
import type { AuditEvent } from "../audit/index.js";
import type { Json } from "../errors.js";

export interface SandboxDenial {
  readonly session: string;
  /** The tool whose process or call made it; null when a cell made it outside any call. */
  readonly tool: string | null;
  readonly tier: string;
  readonly syscall: string;
  /** "EPERM": answered and the caller went on; "killed": the sandbox was killed (foreign ABI). */
  readonly action: "EPERM" | "killed";
}

export interface DenialRecorderOptions {
  /** Individual records per session per window. */
  readonly burst: number;
  readonly windowMs: number;
  readonly now: () => number;
}

export const DEFAULT_DENIAL_RECORDING: DenialRecorderOptions = Object.freeze({ burst: 16, windowMs: 10_000, now: () => performance.now() });

interface Window {
  start: number;
  recorded: number;
  suppressed: Map<string, number>;
  tools: Set<string>;
  tier: string;
  timer: NodeJS.Timeout | null;
}

export class DenialRecorder {
  private readonly windows = new Map<string, Window>();
  private readonly opts: DenialRecorderOptions;

  constructor(
    private readonly append: (event: AuditEvent) => Promise<unknown>,
    opts: Partial<DenialRecorderOptions> = {},
  ) {
    this.opts = { ...DEFAULT_DENIAL_RECORDING, ...opts };
  }

  /** Records one denial (or counts it, past the burst). Never throws; a failed append is dropped into the summary count. */
  report(d: SandboxDenial): void {
    const now = this.opts.now();
    let w = this.windows.get(d.session);
    if (w !== undefined && now - w.start >= this.opts.windowMs) {
      this.flushWindow(d.session, w);
      w = undefined;
    }
    if (w === undefined) {
      w = { start: now, recorded: 0, suppressed: new Map(), tools: new Set(), tier: d.tier, timer: null };
      this.windows.set(d.session, w);
    }
    if (w.recorded < this.opts.burst) {
      w.recorded += 1;
      void this.append({ type: "sandbox.denied", enforcer: "seccomp", session: d.session, tool: d.tool, tier: d.tier, syscall: d.syscall, action: d.action }).catch(() => undefined);
      return;
    }
    w.suppressed.set(d.syscall, (w.suppressed.get(d.syscall) ?? 0) + 1);
    if (d.tool !== null) w.tools.add(d.tool);
    if (w.timer === null) {
      const window = w;
      window.timer = setTimeout(() => {
        if (this.windows.get(d.session) === window) {
          this.windows.delete(d.session);
          this.flushWindow(d.session, window);
        }
      }, Math.max(0, this.opts.windowMs - (now - w.start)));
      window.timer.unref();
    }
  }

  /** Writes what a session's window still holds (call when the session ends). */
  async flush(session: string): Promise<void> {
    const w = this.windows.get(session);
    this.windows.delete(session);
    if (w !== undefined) await this.summary(session, w);
  }

  private flushWindow(session: string, w: Window): void {
    void this.summary(session, w).catch(() => undefined);
  }

  private async summary(session: string, w: Window): Promise<void> {
    if (w.timer !== null) clearTimeout(w.timer);
    w.timer = null;
    if (w.suppressed.size === 0) return;
    const count = [...w.suppressed.values()].reduce((a, b) => a + b, 0);
    const syscalls: Record<string, Json> = Object.fromEntries([...w.suppressed].sort(([a], [b]) => a.localeCompare(b)));
    w.suppressed.clear();
    await this.append({ type: "sandbox.denied", enforcer: "seccomp", session, tier: w.tier, tools: [...w.tools].sort(), suppressed: true, count, syscalls });
  }
}
