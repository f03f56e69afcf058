// Signed audit checkpoints. A Checkpointer watches an AuditLog and, every N durable records or
// T milliseconds (whichever comes first, and only if records arrived since the last one),
// signs {log, seq, head, at} as a DSSE envelope and appends it as one line to
// `<audit>.checkpoints`, fdatasynced.
//
// Signing never blocks an append: the record listener only notes the new head; signing and
// writing run later, one checkpoint at a time, on a separate file. Requests that pile up while
// a checkpoint is being written collapse into one for the newest head.
//
// With a witness (`witness`), each durable checkpoint is then offered to a WitnessAnchor
// (witness-anchor.ts), which sends it to the witness, also off the append path.
import { basename } from "node:path";
import { signEnvelope, type SigningKey } from "../crypto/dsse.js";
import type { AuditLog } from "./audit-log.js";
import { CHECKPOINT_PAYLOAD_TYPE, checkpointPath, encodeCheckpoint, type Checkpoint } from "./checkpoint-payload.js";
import { FileSink } from "./file-sink.js";
import type { AuditSink, ChainHead } from "./types.js";
import { WitnessAnchor, type WitnessTarget } from "./witness-anchor.js";
import { MAX_SEGMENT_RECORDS } from "./witness-payload.js";

export interface CheckpointerOptions {
  /** The log's file path: names the checkpoint file and, by its basename, the log in each checkpoint. */
  readonly auditPath: string;
  readonly key: SigningKey;
  /** Checkpoint after this many new records (default 1000). */
  readonly everyRecords?: number;
  /** ... or after this many milliseconds with new records (default 10 s). */
  readonly everyMs?: number;
  readonly now?: () => Date;
  /** Starts the periodic tick; returns its cancel function (default: an unref'd setInterval). */
  readonly startTimer?: (tick: () => void, ms: number) => () => void;
  /** Where checkpoint lines go (default: a FileSink on `<auditPath>.checkpoints`, mode 0600). */
  readonly sink?: AuditSink;
  /** Told about a checkpoint that could not be written; the log itself goes on. */
  readonly onError?: (err: unknown) => void;
  /**
   * Send every checkpoint to this witness. `everyRecords` must then be at most the witness's
   * MAX_SEGMENT_RECORDS, so that one checkpoint's segment fits one request.
   */
  readonly witness?: WitnessTarget;
}

export const DEFAULT_CHECKPOINT_RECORDS = 1000;
export const DEFAULT_CHECKPOINT_MS = 10_000;

export class Checkpointer {
  readonly #options: CheckpointerOptions;
  readonly #sink: AuditSink;
  readonly #every: number;
  readonly #now: () => Date;
  readonly #unsubscribe: () => void;
  readonly #cancelTimer: () => void;
  readonly #anchor: WitnessAnchor | null;
  #latest: ChainHead | null;
  /** The seq of the last durable checkpoint, and of the last one begun (durable or in flight). */
  #signedSeq = 0;
  #startedSeq = 0;
  #queued = false;
  #chain: Promise<void> = Promise.resolve();
  #closing: Promise<void> | null = null;
  #written = 0;

  private constructor(log: AuditLog, options: CheckpointerOptions, sink: AuditSink, anchor: WitnessAnchor | null) {
    this.#options = options;
    this.#sink = sink;
    this.#anchor = anchor;
    this.#every = options.everyRecords ?? DEFAULT_CHECKPOINT_RECORDS;
    this.#now = options.now ?? (() => new Date());
    this.#latest = log.head;
    this.#unsubscribe = log.onRecord((record) => {
      this.#latest = { seq: record.seq, hash: record.hash };
      if (record.seq - this.#startedSeq >= this.#every) this.#request();
    });
    const startTimer = options.startTimer ?? defaultTimer;
    this.#cancelTimer = startTimer(() => {
      if ((this.#latest?.seq ?? 0) > this.#signedSeq) this.#request();
    }, options.everyMs ?? DEFAULT_CHECKPOINT_MS);
  }

  /** Starts checkpointing `log`, whose file is `options.auditPath`. */
  static async start(log: AuditLog, options: CheckpointerOptions): Promise<Checkpointer> {
    if (options.key.privateKey.asymmetricKeyType !== "ed25519") throw new TypeError("checkpoint key must be Ed25519");
    const maxSegment = options.witness?.maxSegmentRecords ?? MAX_SEGMENT_RECORDS;
    if (options.witness !== undefined && (options.everyRecords ?? DEFAULT_CHECKPOINT_RECORDS) > maxSegment) {
      throw new RangeError(`with a witness, checkpoint at least every ${maxSegment} records (the witness's segment cap)`);
    }
    const sink = options.sink ?? (await FileSink.open(checkpointPath(options.auditPath)));
    const now = options.now ?? (() => new Date());
    const anchor = options.witness === undefined
      ? null
      : await WitnessAnchor.start({ log, auditPath: options.auditPath, key: options.key, now, ...(options.onError === undefined ? {} : { onError: options.onError }) }, options.witness);
    return new Checkpointer(log, options, sink, anchor);
  }

  /** The witness exchange, if a witness is configured (tests wait on it with `idle()`). */
  get anchor(): WitnessAnchor | null {
    return this.#anchor;
  }

  /** Checkpoints written by this checkpointer. */
  get written(): number {
    return this.#written;
  }

  /** Signs the newest head now (if it is newer than the last checkpoint) and waits until it is durable. */
  checkpoint(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#signNewest());
    return this.#chain;
  }

  /**
   * Stops watching, writes a last checkpoint for any unsigned records, and closes the file.
   * Close the AuditLog first, so its last records are covered.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unsubscribe();
      this.#cancelTimer();
      await this.checkpoint();
      await this.#sink.close();
      await this.#anchor?.close();
    })();
    return this.#closing;
  }

  #request(): void {
    if (this.#queued || this.#closing !== null) return;
    this.#queued = true;
    // Off the append path: the listener returns at once; signing happens on a later turn.
    setImmediate(() => {
      this.#queued = false;
      void this.checkpoint();
    });
  }

  async #signNewest(): Promise<void> {
    const head = this.#latest;
    if (head === null || head.seq <= this.#signedSeq) return;
    const cp: Checkpoint = { log: basename(this.#options.auditPath), seq: head.seq, head: head.hash, at: this.#now().toISOString() };
    const envelope = signEnvelope(CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint(cp), this.#options.key);
    this.#startedSeq = head.seq;
    try {
      await this.#sink.write(`${JSON.stringify(envelope)}\n`);
    } catch (err) {
      this.#startedSeq = this.#signedSeq;
      this.#options.onError?.(err);
      return;
    }
    this.#signedSeq = head.seq;
    this.#written++;
    this.#anchor?.offer(cp, envelope);
  }
}

function defaultTimer(tick: () => void, ms: number): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}
