// The audit log a runtime owns: turns events into durable, hash-chained records.
//
// Group commit: every append issued before the log next gets to run (the same turn of the
// event loop, or while a write is in flight) goes into ONE sink write, i.e. one fdatasync.
// Each caller's promise settles only after that write: it resolves once the record is durable,
// and if the write fails every record in the batch is rejected with AuditWriteFailed and the
// head stays at the last durable record, so the next batch continues the chain without a gap.
// Records are numbered in append() call order, which is also their order in the file.
import { AuditCorrupt, AuditWriteFailed } from "../errors.js";
import { AuditUnreadable, toWriteFailed } from "./audit-errors.js";
import { buildRecord, encodeRecord } from "./build-record.js";
import { checkEvent } from "./check-event.js";
import type { EventSnapshot } from "./check-event.js";
import { FileSink } from "./file-sink.js";
import { MemorySink } from "./memory-sink.js";
import { readAuditFile } from "./read-audit-file.js";
import { RecordRing } from "./record-ring.js";
import { verifyChain } from "./verify-chain.js";
import type { AuditEvent, AuditRecord, AuditSink, ChainHead, WitnessStatus } from "./types.js";

export interface AuditLogOptions {
  /** The clock stamped on records (default: the system clock). */
  readonly now?: () => Date;
  /** Where records go (default for `open`: a FileSink on the path; for `memory`: a MemorySink).
   *  A custom sink given to `open` must append to that same file, or the chain will not verify. */
  readonly sink?: AuditSink;
  /** How many recent records `recordsAfter` can return (default 10 000). */
  readonly keep?: number;
}

export type RecordListener = (record: AuditRecord) => void;

interface Pending {
  readonly event: EventSnapshot;
  readonly time: Date;
  readonly resolve: (record: AuditRecord) => void;
  readonly reject: (err: Error) => void;
}

/** Upper bound on records per sink write, so one write stays a reasonable size. */
const MAX_BATCH = 1024;
const DEFAULT_KEEP = 10_000;

export class AuditLog {
  readonly #sink: AuditSink;
  readonly #now: () => Date;
  readonly #ring: RecordRing;
  readonly #listeners = new Set<RecordListener>();
  #head: ChainHead | null;
  #queue: Pending[] = [];
  /** Settles when the running drain loop has emptied the queue; null when idle. */
  #flight: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #witness: WitnessStatus | null = null;

  private constructor(sink: AuditSink, options: AuditLogOptions, head: ChainHead | null) {
    this.#sink = sink;
    this.#now = options.now ?? (() => new Date());
    this.#ring = new RecordRing(options.keep ?? DEFAULT_KEEP);
    this.#head = head;
  }

  /**
   * Opens the log at `path`, continuing its chain. An existing file is verified first; if it is
   * corrupt this throws AuditCorrupt and nothing is appended (fail closed: a broken chain is
   * repaired by an operator, never extended). Throws AuditWriteFailed if the file cannot be
   * opened for appending, and AuditUnreadable if it exists but cannot be read.
   */
  static async open(path: string, options: AuditLogOptions = {}): Promise<AuditLog> {
    let text = "";
    try {
      text = await readAuditFile(path);
    } catch (err) {
      if (!(err instanceof AuditUnreadable && err.reason === "ENOENT")) throw err;
    }
    const verdict = verifyChain(text);
    if (!verdict.ok) throw new AuditCorrupt(verdict.firstBadSeq, verdict.reason);
    const sink = options.sink ?? (await FileSink.open(path));
    return new AuditLog(sink, options, verdict.head);
  }

  /** A log with no file, for tests: pass your own MemorySink to inspect what was written. */
  static memory(options: AuditLogOptions = {}): AuditLog {
    return new AuditLog(options.sink ?? new MemorySink(), options, null);
  }

  /** The last durable record's link, or null for an empty log. */
  get head(): ChainHead | null {
    return this.#head;
  }

  /** How the witness anchoring this log is doing (null: the log has none). */
  get witness(): WitnessStatus | null {
    return this.#witness;
  }

  /** Called by the log's WitnessAnchor as its exchanges succeed or fail; read by /metrics. */
  reportWitness(status: WitnessStatus): void {
    this.#witness = Object.freeze({ ...status });
  }

  /**
   * Records `event`. Resolves with the stored record once it is durable; rejects with
   * AuditEventInvalid if the event cannot be recorded as given, or AuditWriteFailed if the
   * write failed or the log is closed — in which case the action it describes must not happen.
   */
  append(event: AuditEvent): Promise<AuditRecord> {
    if (this.#closing !== null) return Promise.reject(new AuditWriteFailed("closed"));
    let snapshot: EventSnapshot;
    let time: Date;
    try {
      snapshot = checkEvent(event);
      time = this.#now();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.#queue.push({ event: snapshot, time, resolve, reject });
      this.#start();
    });
  }

  /** Records this process appended with seq greater than `seq` (only the most recent `keep`). */
  recordsAfter(seq: number): AuditRecord[] {
    return this.#ring.after(seq);
  }

  /**
   * Calls `listener` with each record once it is durable, in seq order. Returns the
   * unsubscribe function. A listener that throws is ignored; it cannot affect the log.
   */
  onRecord(listener: RecordListener): () => void {
    const wrapped: RecordListener = (record) => listener(record);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  /** Writes every pending append, then closes the sink. Later appends reject. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    while (this.#flight !== null) await this.#flight;
    await this.#sink.close();
  }

  #start(): void {
    if (this.#flight !== null) return;
    this.#flight = new Promise<void>((resolve) => {
      // Wait one turn so every append issued in this turn joins the first batch.
      setImmediate(() => {
        void this.#drain().then(resolve);
      });
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= MAX_BATCH ? this.#queue : this.#queue.slice(0, MAX_BATCH);
      this.#queue = this.#queue.length <= MAX_BATCH ? [] : this.#queue.slice(MAX_BATCH);
      await this.#commit(batch);
    }
    // Same synchronous step as the final emptiness check, so no append can slip between them.
    this.#flight = null;
  }

  /** Links, writes and settles one batch. Never throws: every failure settles a caller. */
  async #commit(batch: readonly Pending[]): Promise<void> {
    let head = this.#head;
    let lines = "";
    const built: { record: AuditRecord; item: Pending }[] = [];
    for (const item of batch) {
      try {
        const record = buildRecord(head, item.event, item.time);
        lines += encodeRecord(record);
        head = record;
        built.push({ record, item });
      } catch (err) {
        item.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (built.length === 0 || head === null) return;
    try {
      await this.#sink.write(lines);
    } catch (err) {
      for (const { item } of built) item.reject(toWriteFailed(err));
      return;
    }
    this.#head = Object.freeze({ seq: head.seq, hash: head.hash });
    const listeners = [...this.#listeners];
    for (const { record, item } of built) {
      this.#ring.push(record);
      for (const listener of listeners) {
        try {
          listener(record);
        } catch {
          // A watcher's bug must not undo or delay a durable record.
        }
      }
      item.resolve(record);
    }
  }
}
