// An in-memory AuditSink for tests: keeps what was written, counts writes, and can be told to
// fail (to prove the log fails closed) or to hold writes open (to prove batching and ordering).
import { AuditWriteFailed } from "../errors.js";
import type { AuditSink } from "./types.js";

export class MemorySink implements AuditSink {
  #chunks: string[] = [];
  #writes = 0;
  #failure: string | null = null;
  #held: Promise<void> | null = null;
  #closed = false;

  /** Number of `write` calls, including failed ones. */
  get writes(): number {
    return this.#writes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Everything written successfully, in order. */
  text(): string {
    return this.#chunks.join("");
  }

  /** Make every later write fail with AuditWriteFailed(reason), writing nothing. */
  failWrites(reason = "EIO"): void {
    this.#failure = reason;
  }

  /** Let writes succeed again. */
  healWrites(): void {
    this.#failure = null;
  }

  /** Keep later writes pending until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#held = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.#held = null;
      release();
    };
  }

  async write(lines: string): Promise<void> {
    this.#writes++;
    if (this.#held !== null) await this.#held;
    if (this.#closed) throw new AuditWriteFailed("closed");
    if (this.#failure !== null) throw new AuditWriteFailed(this.#failure);
    this.#chunks.push(lines);
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
