// Capped capture of the guest's stdout and stderr.

import { LimitExceeded } from "../../errors.js";

export class OutputBuffer {
  readonly #cap: number;
  /** true: drop bytes past the cap (stderr); false: throw LimitExceeded (stdout). */
  readonly #truncate: boolean;
  readonly #chunks: Uint8Array[] = [];
  #used = 0;

  constructor(cap: number, truncate: boolean) {
    this.#cap = cap;
    this.#truncate = truncate;
  }

  /**
   * Appends the guest's bytes (copied). Returns how many bytes the guest may consider written:
   * all of them, even when truncating, so a guest never spins retrying a full stderr.
   */
  append(parts: readonly Uint8Array[]): number {
    const total = parts.reduce((n, p) => n + p.length, 0);
    if (this.#used + total > this.#cap && !this.#truncate) {
      throw new LimitExceeded("output", this.#used + total, this.#cap);
    }
    let room = this.#cap - this.#used;
    for (const part of parts) {
      if (room <= 0) break;
      const kept = part.length <= room ? part.slice() : part.slice(0, room);
      this.#chunks.push(kept);
      this.#used += kept.length;
      room -= kept.length;
    }
    return total;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.#used);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
