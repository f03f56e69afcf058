// Bounds how many audit records a flood can cause: at most `perWindow` records per key (a
// refusal reason) in each window of `windowMs`; the rest are counted, and each window that
// suppressed any is summed up once, as one summary record with the count, when it ends. A
// thousand refused connections therefore cost `perWindow` records and one summary, and the
// summary's `count` keeps every total exact. Pure: the clock is passed in; the caller owns timers.

export interface ThrottleOptions {
  readonly perWindow: number;
  readonly windowMs: number;
  /** Milliseconds, monotonic enough for windows (Date.now or performance.now). */
  readonly now: () => number;
}

/** Events of one key that were counted but not recorded, in one window. */
export interface Suppressed {
  readonly key: string;
  readonly count: number;
  readonly windowMs: number;
}

interface Window {
  readonly start: number;
  recorded: number;
  suppressed: number;
}

export class RecordThrottle {
  readonly #windows = new Map<string, Window>();
  /** Ended windows with suppressed events, not yet handed out. */
  readonly #ended: Suppressed[] = [];

  constructor(private readonly opts: ThrottleOptions) {}

  /** True: record this event. False: it is counted in its window's summary instead. */
  admit(key: string): boolean {
    const t = this.opts.now();
    let w = this.#windows.get(key);
    if (w !== undefined && t - w.start >= this.opts.windowMs) {
      this.#close(key, w);
      w = undefined;
    }
    if (w === undefined) {
      w = { start: t, recorded: 0, suppressed: 0 };
      this.#windows.set(key, w);
    }
    if (w.recorded < this.opts.perWindow) {
      w.recorded += 1;
      return true;
    }
    w.suppressed += 1;
    return false;
  }

  /** Summaries of every window that has ended with suppressed events; each is returned once. */
  due(): Suppressed[] {
    const t = this.opts.now();
    for (const [key, w] of this.#windows) if (t - w.start >= this.opts.windowMs) this.#close(key, w);
    return this.#ended.splice(0);
  }

  /** Everything still counted, ended or not (at close). */
  drainAll(): Suppressed[] {
    for (const [key, w] of this.#windows) this.#close(key, w);
    return this.#ended.splice(0);
  }

  /** Milliseconds until the first window holding suppressed events ends; null if none does. */
  nextDueMs(): number | null {
    if (this.#ended.length > 0) return 0;
    const t = this.opts.now();
    let next: number | null = null;
    for (const w of this.#windows.values()) {
      if (w.suppressed === 0) continue;
      const left = Math.max(0, w.start + this.opts.windowMs - t);
      next = next === null ? left : Math.min(next, left);
    }
    return next;
  }

  #close(key: string, w: Window): void {
    this.#windows.delete(key);
    if (w.suppressed > 0) this.#ended.push({ key, count: w.suppressed, windowMs: this.opts.windowMs });
  }
}
