// Fuel and deadline accounting for one call. The instrumented module decrements an exported
// i64 global and calls `cordon_meter.refill` when it goes negative; refill either grants the
// next slice or stops the guest. Checking the wall clock at each slice makes the deadline
// independent of the fuel budget, at no cost on the hot path.
import { LimitExceeded } from "../../errors.js";

/** ~1M units is ~1 ms of guest work on this class of machine: the deadline's granularity. */
export const FUEL_SLICE = 1_000_000;

export class Meter {
  private consumed = 0;
  private sliceStart = 0;
  private global: WebAssembly.Global | undefined;
  private readonly deadline: number;

  constructor(
    private readonly budget: number,
    wallClockMs: number,
    private readonly now: () => number = performance.now.bind(performance),
    /** Runs at every slice after the budget and deadline checks (a cancellation check); may throw. */
    private readonly onSlice?: () => void,
  ) {
    this.deadline = now() + wallClockMs;
    this.wallClockMs = wallClockMs;
  }
  private readonly wallClockMs: number;

  /** Binds the instance's fuel global and loads the first slice. */
  start(global: WebAssembly.Global): void {
    // Count what a previous start on this call used (a reactor's _initialize) before reloading.
    this.settle();
    this.global = global;
    this.loadSlice();
  }

  private loadSlice(): void {
    const next = Math.min(FUEL_SLICE, this.budget - this.consumed);
    this.sliceStart = next;
    if (this.global !== undefined) this.global.value = BigInt(next);
  }

  private settle(): void {
    if (this.global === undefined) return;
    const left = Number(this.global.value);
    this.consumed += this.sliceStart - left;
    this.sliceStart = left;
  }

  /** The `cordon_meter.refill` import. */
  readonly refill = (): void => {
    this.settle();
    if (this.consumed >= this.budget) throw new LimitExceeded("fuel", this.consumed, this.budget);
    this.checkDeadline();
    this.onSlice?.();
    this.loadSlice();
  };

  /** When the call must end, on the clock `now` uses. */
  get deadlineAt(): number {
    return this.deadline;
  }

  checkDeadline(): void {
    const now = this.now();
    if (now > this.deadline) {
      throw new LimitExceeded("wall-clock", Math.round(this.wallClockMs + (now - this.deadline)), this.wallClockMs);
    }
  }

  /** Total fuel used so far (call after the guest returns or throws). */
  used(): number {
    this.settle();
    return this.consumed;
  }
}
