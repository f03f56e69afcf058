// The control plane's side of the witness: every durable signed checkpoint is offered here and
// sent, with the records since the witness's last cosignature (the segment that proves the new
// head extends the old one), to the configured witness. Cosignatures are verified with the
// witness's key and appended to `<audit>.witness`.
//
// Off the append path, like the Checkpointer: `offer` only notes the newest checkpoint; one
// exchange runs at a time and always sends the newest. A witness that is down or refuses is
// never silent: the log records `audit.witness-unreachable` (or `audit.witness-refused`) at the
// first failure of an outage and then at most once per `reportEveryMs`, with the number of
// failures since the previous record; retries back off (doubling to a cap); the first success
// after an outage sends the whole backlog and records `audit.witness-restored`. The current
// state is reported to the log (`AuditLog.witness`), which /metrics shows.
//
// Segments stay under the witness's caps: at most MAX_SEGMENT_RECORDS records and
// MAX_WITNESS_REQUEST_BYTES per request. A longer backlog is sent in pieces, each ending in a
// checkpoint signed here for the witness only (the checkpoint file keeps its own order).
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createPublicKey, type KeyObject } from "node:crypto";
import { basename } from "node:path";
import { keyId, signEnvelope, type Envelope, type SigningKey } from "../crypto/dsse.js";
import { CordonError } from "../errors.js";
import type { AuditLog } from "./audit-log.js";
import { AuditTruncated, AuditWitnessInvalid, AuditWitnessMismatch, AuditWitnessRejected, AuditWitnessUnreachable } from "./audit-errors.js";
import { encodeRecord } from "./build-record.js";
import { CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint, type Checkpoint } from "./checkpoint-payload.js";
import { FileSink } from "./file-sink.js";
import { GENESIS_HASH, type AuditEvent, type AuditSink, type ChainHead } from "./types.js";
import { WitnessClient, type Fetch } from "./witness-client.js";
import { cosignaturePath, MAX_SEGMENT_RECORDS, MAX_WITNESS_REQUEST_BYTES, openCosignature, WITNESS_ENFORCER, type CosignRequestHead } from "./witness-payload.js";

/** Where a log's checkpoints are witnessed, and how insistently. */
export interface WitnessTarget {
  /** The witness's base URL. */
  readonly url: string;
  /** The witness's public key(s), keyid → key: a cosignature by any other key is not one. */
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly fetch?: Fetch;
  /** Per request (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** After an outage's first record, at most one record per this many ms (default 60 s). */
  readonly reportEveryMs?: number;
  /** Retry delays: the first, doubling up to the cap (default 1 s to 60 s). */
  readonly retryMs?: { readonly first: number; readonly max: number };
  /** Schedules a retry; returns its cancel (default: an unref'd setTimeout). */
  readonly schedule?: (run: () => void, ms: number) => () => void;
  /** Where cosignatures go (default: a FileSink on `<audit>.witness`). */
  readonly sink?: AuditSink;
  /** Per-request caps (default: the witness's own). */
  readonly maxSegmentRecords?: number;
  readonly maxRequestBytes?: number;
}

export interface AnchorSetup {
  readonly log: AuditLog;
  /** The log's file: names the log, and holds the records the ring no longer does. */
  readonly auditPath: string;
  /** The checkpoint key: its public half is offered for pinning, and it signs witness-only checkpoints. */
  readonly key: SigningKey;
  readonly now: () => Date;
  /** Told about failures outside the protocol (a cosignature that could not be stored locally, a bug). */
  readonly onError?: (err: unknown) => void;
}

interface Outage {
  readonly since: number;
  failures: number;
  unreported: number;
  reportedAt: number;
  code: string;
}

/** Room left in a request for its head line (the checkpoint envelope and the log's public key). */
const HEAD_ALLOWANCE = 8 * 1024;

export class WitnessAnchor {
  readonly #setup: AnchorSetup;
  readonly #target: WitnessTarget;
  readonly #client: WitnessClient;
  readonly #sink: AuditSink;
  readonly #logName: string;
  readonly #keyid: string;
  readonly #publicPem: string;
  #newest: { readonly cp: Checkpoint; readonly envelope: Envelope } | null = null;
  /** The witness's latest for this log as we know it; null: ask it. */
  #cosigned: ChainHead | null = null;
  /** Whether the witness has cosigned this log before (if not, the first checkpoint is its starting point). */
  #seen = false;
  #cosignedSeq = 0;
  #running: Promise<void> | null = null;
  #cancelRetry: (() => void) | null = null;
  #attempt = 0;
  #up = false;
  #failures = 0;
  #outage: Outage | null = null;
  #closing = false;
  /** Checkpoints offered, and how many had been when the last exchange began. */
  #offers = 0;
  #offersSent = 0;

  private constructor(setup: AnchorSetup, target: WitnessTarget, sink: AuditSink) {
    this.#setup = setup;
    this.#target = target;
    this.#sink = sink;
    this.#client = new WitnessClient({ url: target.url, ...(target.fetch === undefined ? {} : { fetch: target.fetch }), ...(target.requestTimeoutMs === undefined ? {} : { timeoutMs: target.requestTimeoutMs }) });
    this.#logName = basename(setup.auditPath);
    const publicKey = createPublicKey(setup.key.privateKey);
    this.#keyid = keyId(publicKey);
    this.#publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  }

  /** Starts anchoring: reports the status, and asks the witness at once what it last cosigned. */
  static async start(setup: AnchorSetup, target: WitnessTarget): Promise<WitnessAnchor> {
    const sink = target.sink ?? (await FileSink.open(cosignaturePath(setup.auditPath)));
    const anchor = new WitnessAnchor(setup, target, sink);
    anchor.#report();
    anchor.#kick();
    return anchor;
  }

  /** The witness's URL, as records name it. */
  get witness(): string {
    return this.#client.name;
  }

  /** A durable signed checkpoint to witness; returns at once. */
  offer(cp: Checkpoint, envelope: Envelope): void {
    if (this.#newest === null || cp.seq > this.#newest.cp.seq) this.#newest = { cp, envelope };
    this.#offers += 1;
    this.#kick();
  }

  /** Resolves once no exchange is running (a retry may still be scheduled). For tests and close. */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  /** Stops retrying, makes one last attempt for a checkpoint not yet witnessed, closes the cosignature file. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#cancelRetry?.();
    this.#cancelRetry = null;
    await this.idle();
    // A checkpoint no exchange has tried yet (a retry was pending): one attempt. The log is
    // closed by now, so how it went cannot be recorded; the next start asks the witness first
    // and sends whatever it lacks.
    if (this.#behind() && this.#offersSent < this.#offers) {
      this.#kick();
      await this.idle();
    }
    await this.#sink.close();
  }

  #behind(): boolean {
    return this.#newest !== null && (this.#cosigned === null || this.#newest.cp.seq > this.#cosigned.seq);
  }

  #kick(): void {
    if (this.#running !== null || this.#cancelRetry !== null) return;
    this.#running = this.#exchange().finally(() => {
      this.#running = null;
      // A checkpoint offered while the last exchange was finishing.
      if (this.#up && !this.#closing && this.#behind()) this.#kick();
    });
  }

  async #exchange(): Promise<void> {
    this.#offersSent = this.#offers;
    try {
      let resynced = false;
      for (;;) {
        this.#cosigned ??= await this.#sync();
        const newest = this.#newest;
        if (newest === null || newest.cp.seq <= this.#cosigned.seq) break;
        try {
          await this.#submit(newest, this.#cosigned);
        } catch (err) {
          // Our idea of the witness's latest was out of date (a lost answer, another start): ask again, once.
          if (err instanceof AuditWitnessRejected && err.remoteCode === "ERR_AUDIT_WITNESS_STALE" && !resynced) {
            resynced = true;
            this.#cosigned = null;
            continue;
          }
          throw err;
        }
      }
      await this.#succeeded();
    } catch (err) {
      await this.#failed(err);
    }
  }

  /** What the witness last cosigned for this log, checked against the log itself. */
  async #sync(): Promise<ChainHead> {
    const latest = await this.#client.latest(this.#logName);
    if (latest === null) {
      this.#seen = false;
      return { seq: 0, hash: GENESIS_HASH };
    }
    const opened = openCosignature(latest.cosignature, this.#target.keys);
    if (!("cosignature" in opened) || opened.cosignature.log !== this.#logName) throw new AuditWitnessUnreachable(this.witness, "bad-cosignature");
    const c = opened.cosignature;
    // The witness pinned another key for this log's name.
    if (c.logKeyId !== this.#keyid) throw new AuditWitnessInvalid(this.witness, "other-key");
    const head = this.#setup.log.head?.seq ?? 0;
    // The witness vouches for more than this log holds, or for another history: say so, every time.
    if (c.seq > head) throw new AuditTruncated(c.seq, head);
    if ((await this.#hashAt(c.seq)) !== c.head) throw new AuditWitnessMismatch(c.seq);
    this.#seen = true;
    this.#cosignedSeq = c.seq;
    return { seq: c.seq, hash: c.head };
  }

  /** One request: the segment from `from` to the newest checkpoint, or to a witness-only one within the caps. */
  async #submit(newest: { cp: Checkpoint; envelope: Envelope }, from: ChainHead): Promise<void> {
    let cp = newest.cp;
    let envelope = newest.envelope;
    let lines: string[] = [];
    if (this.#seen) {
      const maxRecords = this.#target.maxSegmentRecords ?? MAX_SEGMENT_RECORDS;
      const maxBytes = (this.#target.maxRequestBytes ?? MAX_WITNESS_REQUEST_BYTES) - HEAD_ALLOWANCE;
      lines = await this.#segment(from.seq, Math.min(newest.cp.seq, from.seq + maxRecords));
      while (lines.length > 1 && byteLength(lines) > maxBytes) lines = lines.slice(0, Math.ceil(lines.length / 2));
      const end = from.seq + lines.length;
      if (end !== newest.cp.seq) {
        const last = JSON.parse(lines[lines.length - 1] ?? "{}") as { hash?: unknown };
        cp = { log: this.#logName, seq: end, head: typeof last.hash === "string" ? last.hash : "", at: this.#setup.now().toISOString() };
        envelope = signEnvelope(CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint(cp), this.#setup.key);
      }
    }
    const head: CosignRequestHead = { checkpoint: envelope, logPublicKey: this.#publicPem };
    const body = Buffer.from(`${JSON.stringify(head)}\n${lines.join("")}`, "utf8");
    const raw = await this.#client.cosign(body);
    const opened = openCosignature(raw, this.#target.keys);
    if (!("cosignature" in opened)) throw new AuditWitnessUnreachable(this.witness, "bad-cosignature");
    const c = opened.cosignature;
    if (c.log !== cp.log || c.seq !== cp.seq || c.head !== cp.head || c.logKeyId !== this.#keyid) throw new AuditWitnessUnreachable(this.witness, "bad-cosignature");
    try {
      await this.#sink.write(`${JSON.stringify(raw)}\n`);
    } catch (err) {
      // The witness holds it either way; the local copy is a convenience for `audit verify --witness FILE`.
      this.#setup.onError?.(err);
    }
    this.#seen = true;
    this.#cosigned = { seq: c.seq, hash: c.head };
    this.#cosignedSeq = c.seq;
    this.#report();
  }

  /** Records fromSeq+1 .. toSeq as stored lines: from this process's ring, else from the file. */
  async #segment(fromSeq: number, toSeq: number): Promise<string[]> {
    const ring = this.#setup.log.recordsAfter(fromSeq);
    if (ring[0]?.seq === fromSeq + 1 && (ring[ring.length - 1]?.seq ?? 0) >= toSeq) return ring.slice(0, toSeq - fromSeq).map(encodeRecord);
    return readLines(this.#setup.auditPath, fromSeq, toSeq);
  }

  async #hashAt(seq: number): Promise<string> {
    const [line] = await this.#segment(seq - 1, seq);
    const hash = (JSON.parse(line ?? "{}") as { hash?: unknown }).hash;
    return typeof hash === "string" ? hash : "";
  }

  async #succeeded(): Promise<void> {
    const outage = this.#outage;
    this.#up = true;
    this.#attempt = 0;
    this.#outage = null;
    this.#report();
    if (outage !== null) {
      const now = this.#setup.now().getTime();
      await this.#record({ type: "audit.witness-restored", failures: outage.failures, downMs: Math.max(0, now - outage.since), cosignedSeq: this.#cosignedSeq });
    }
  }

  async #failed(thrown: unknown): Promise<void> {
    if (!(thrown instanceof CordonError)) this.#setup.onError?.(thrown);
    const err = thrown instanceof CordonError ? thrown : new AuditWitnessUnreachable(this.witness, "internal");
    // Our idea of the witness's state may be wrong after any failure: ask again next time.
    this.#cosigned = null;
    this.#up = false;
    this.#failures += 1;
    this.#report();
    const refused = err instanceof AuditWitnessRejected || err instanceof AuditTruncated || err instanceof AuditWitnessMismatch || err instanceof AuditWitnessInvalid;
    const code = err instanceof AuditWitnessRejected ? err.remoteCode : err.code;
    const now = this.#setup.now().getTime();
    let count: number | null = null;
    const o = this.#outage;
    if (o === null) {
      this.#outage = { since: now, failures: 1, unreported: 0, reportedAt: now, code };
      count = 1;
    } else {
      o.failures += 1;
      o.unreported += 1;
      if (now - o.reportedAt >= (this.#target.reportEveryMs ?? 60_000) || code !== o.code) {
        count = o.unreported;
        o.unreported = 0;
        o.reportedAt = now;
        o.code = code;
      }
    }
    if (count !== null) {
      const fault = err instanceof AuditWitnessRejected ? err.remote : err.fields();
      const unwitnessed = Math.max(0, (this.#setup.log.head?.seq ?? 0) - this.#cosignedSeq);
      await this.#record({ type: refused ? "audit.witness-refused" : "audit.witness-unreachable", code, failures: count, cosignedSeq: this.#cosignedSeq, unwitnessed, fault });
    }
    if (this.#closing) return;
    const { first, max } = this.#target.retryMs ?? { first: 1000, max: 60_000 };
    const delay = Math.min(max, first * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    const schedule = this.#target.schedule ?? defaultSchedule;
    this.#cancelRetry = schedule(() => {
      this.#cancelRetry = null;
      this.#kick();
    }, delay);
  }

  async #record(event: AuditEvent): Promise<void> {
    // A closed log cannot record it; nothing else may stop the anchor.
    await this.#setup.log.append({ ...event, enforcer: WITNESS_ENFORCER, witness: this.witness }).catch(() => undefined);
  }

  #report(): void {
    this.#setup.log.reportWitness({ witness: this.witness, up: this.#up, failures: this.#failures, cosignedSeq: this.#cosignedSeq });
  }
}

function byteLength(lines: readonly string[]): number {
  return lines.reduce((n, l) => n + Buffer.byteLength(l, "utf8"), 0);
}

/** Lines fromSeq+1 .. toSeq of a verified log file (line n is record n), each with its newline. */
async function readLines(path: string, fromSeq: number, toSeq: number): Promise<string[]> {
  const out: string[] = [];
  const rl = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) {
      n += 1;
      if (n > fromSeq) out.push(`${line}\n`);
      if (n >= toSeq) break;
    }
  } finally {
    rl.close();
  }
  return out;
}

function defaultSchedule(run: () => void, ms: number): () => void {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
}
