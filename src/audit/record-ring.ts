// The last N records this process appended, for `recordsAfter`. Fixed memory: old records are
// overwritten, never shifted.
import type { AuditRecord } from "./types.js";

export class RecordRing {
  readonly #slots: (AuditRecord | undefined)[];
  /** Index of the oldest record. */
  #start = 0;
  #count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError("ring capacity must be a positive integer");
    this.#slots = new Array<AuditRecord | undefined>(capacity).fill(undefined);
  }

  /** Records must arrive in seq order with no gaps. */
  push(record: AuditRecord): void {
    if (this.#count < this.capacity) {
      this.#slots[(this.#start + this.#count) % this.capacity] = record;
      this.#count++;
    } else {
      this.#slots[this.#start] = record;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** Held records with seq greater than `seq`, oldest first. */
  after(seq: number): AuditRecord[] {
    const out: AuditRecord[] = [];
    const oldest = this.#slots[this.#start];
    if (this.#count === 0 || oldest === undefined) return out;
    const skip = Math.max(0, Math.min(this.#count, Math.floor(seq) - oldest.seq + 1));
    for (let i = skip; i < this.#count; i++) {
      const record = this.#slots[(this.#start + i) % this.capacity];
      if (record !== undefined) out.push(record);
    }
    return out;
  }
}
