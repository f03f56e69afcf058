// The witness: a second party that cosigns a log's checkpoints only while they stay consistent,
// so that a log cut back together with its checkpoint file (which still verifies on its own)
// contradicts the witness's latest cosignature.
//
// For a hash chain the consistency proof is the chain itself: a submission is a signed
// checkpoint (seq, head) plus the records after the last head this witness cosigned for the
// log. The witness recomputes every record's hash and prev link, with cordon's own chain
// verifier, from its stored head to the new one. It refuses, with a typed error and a record
// in its own hash-chained log: a checkpoint not signed by the pinned log key, a lower seq, a
// second head for the cosigned seq (a fork), a segment that does not link, or one over the
// caps. A refused checkpoint that the log key did sign (a fork, an unlinked chain) is also kept
// in `evidence.jsonl`: two signed, contradicting heads are proof of what happened.
//
// Log keys: with `logs` configured (`cordon witness --log NAME=PUBKEYFILE`), the witness serves
// exactly those logs under those keys. With none configured, it trusts on first use: the first
// checkpoint of a log name pins the public key sent with it (and is cosigned without a
// segment: there is nothing before it to link to); every later one must verify under it.
import { createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ed25519PublicKey, keyId, signEnvelope, verifyEnvelope, type Envelope, type SigningKey } from "../../crypto/dsse.js";
import { SignatureInvalid } from "../../crypto/errors.js";
import { initKey, loadSigningKey } from "../../crypto/keys.js";
import { CordonError } from "../../errors.js";
import { AuditLog } from "../audit-log.js";
import {
  AuditWitnessFork, AuditWitnessMalformed, AuditWitnessRollback, AuditWitnessSignature, AuditWitnessStale, AuditWitnessTooLarge,
  AuditWitnessUnknownLog, AuditWitnessUnlinked,
} from "../audit-errors.js";
import { CHECKPOINT_PAYLOAD_TYPE, decodeCheckpoint, type Checkpoint } from "../checkpoint-payload.js";
import { FileSink } from "../file-sink.js";
import { GENESIS_HASH, type AuditEvent } from "../types.js";
import { verifyChain } from "../verify-chain.js";
import {
  checkpointDigest, COSIGNATURE_PAYLOAD_TYPE, encodeCosignature, LOG_NAME, MAX_SEGMENT_RECORDS, MAX_WITNESS_REQUEST_BYTES, WITNESS_ENFORCER, type WitnessLatest,
} from "../witness-payload.js";
import { loadLogStates, saveLogState, type LogState } from "./witness-state.js";

/** Logs one trust-on-first-use witness will pin. */
export const DEFAULT_MAX_LOGS = 1024;

export const WITNESS_KEY_FILE = "witness.key";
export const WITNESS_AUDIT_FILE = "witness-audit.jsonl";
export const WITNESS_EVIDENCE_FILE = "evidence.jsonl";

export interface WitnessOptions {
  /** The witness's own directory: its key (created 0600 on first start), state, log and evidence. */
  readonly dataDir: string;
  /** Configured logs (name → checkpoint public key). Any at all turns trust on first use off. */
  readonly logs?: ReadonlyMap<string, KeyObject>;
  readonly now?: () => Date;
  readonly maxLogs?: number;
  readonly maxRequestBytes?: number;
  readonly maxSegmentRecords?: number;
  /**
   * Where the witness records its decisions (default: its own hash-chained log,
   * `<dataDir>/witness-audit.jsonl`). `cordon prove` points a throwaway witness at the
   * runtime's log, so that its refusal is counted like any enforcer's.
   */
  readonly audit?: WitnessAudit;
}

/** The log a witness records into. */
export interface WitnessAudit {
  append(event: AuditEvent): Promise<unknown>;
}

/** A failure the witness answers with; the HTTP layer maps each code to a status. */
export type WitnessRefusal =
  | AuditWitnessMalformed | AuditWitnessTooLarge | AuditWitnessUnknownLog | AuditWitnessSignature
  | AuditWitnessRollback | AuditWitnessFork | AuditWitnessUnlinked | AuditWitnessStale;

interface Submission {
  readonly checkpoint: Checkpoint;
  readonly envelope: Envelope;
  readonly digest: string;
  readonly key: KeyObject;
  readonly logPublicKey: string;
  readonly pinnedBy: LogState["pinnedBy"];
}

export class Witness {
  readonly #opts: WitnessOptions;
  readonly #key: SigningKey;
  readonly #states: Map<string, LogState>;
  readonly #audit: WitnessAudit;
  /** The witness's own log, when it opened one (closed with it). */
  readonly #ownLog: AuditLog | null;
  readonly #evidence: FileSink;
  readonly #now: () => Date;
  /** One submission at a time: each reads and replaces the state of its log. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(opts: WitnessOptions, key: SigningKey, states: Map<string, LogState>, audit: WitnessAudit, ownLog: AuditLog | null, evidence: FileSink) {
    this.#opts = opts;
    this.#key = key;
    this.#states = states;
    this.#audit = audit;
    this.#ownLog = ownLog;
    this.#evidence = evidence;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Opens (creating on first start) the witness in `opts.dataDir`. Refuses state it cannot verify. */
  static async open(opts: WitnessOptions): Promise<Witness> {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const keyPath = join(opts.dataDir, WITNESS_KEY_FILE);
    if (!existsSync(keyPath)) initKey(keyPath);
    const key = loadSigningKey(keyPath);
    const publicKey = createPublicKey(key.privateKey);
    const states = loadLogStates(opts.dataDir, new Map([[key.keyid, publicKey]]), opts.logs ?? new Map());
    let audit: WitnessAudit;
    let ownLog: AuditLog | null = null;
    if (opts.audit === undefined) {
      ownLog = await AuditLog.open(join(opts.dataDir, WITNESS_AUDIT_FILE), opts.now === undefined ? {} : { now: opts.now });
      audit = ownLog;
    } else {
      audit = opts.audit;
    }
    const evidence = await FileSink.open(join(opts.dataDir, WITNESS_EVIDENCE_FILE));
    const witness = new Witness(opts, key, states, audit, ownLog, evidence);
    await audit.append({ type: "witness.started", keyId: key.keyid, logs: states.size, pinning: (opts.logs?.size ?? 0) > 0 ? "configured" : "first-use" });
    return witness;
  }

  /** The witness's public key: what `--witness-key` files hold. */
  get publicKey(): KeyObject {
    return createPublicKey(this.#key.privateKey);
  }

  get keyid(): string {
    return this.#key.keyid;
  }

  /** The latest cosigned checkpoint of `log`; AuditWitnessUnknownLog (not-seen) if there is none. */
  latest(log: string): WitnessLatest {
    const state = this.#states.get(log);
    if (state === undefined) throw new AuditWitnessUnknownLog(LOG_NAME.test(log) ? log : "(invalid name)", "not-seen");
    return { cosignature: state.cosignature, checkpoint: state.checkpoint };
  }

  /**
   * Cosigns the checkpoint in `body` (a JSON head line, then the segment as JSONL) if it is
   * consistent with this log's last cosigned checkpoint; the new state is durable before this
   * resolves. Rejects with a WitnessRefusal (recorded first) otherwise.
   */
  cosign(body: Uint8Array): Promise<Envelope> {
    const run = this.#queue.then(() => this.#cosign(Buffer.from(body)));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Records a refusal made before `cosign` could read the request (e.g. by the HTTP layer's size cap). */
  async refused(err: WitnessRefusal): Promise<void> {
    await this.#audit.append({ type: "witness.refused", enforcer: WITNESS_ENFORCER, code: err.code, fault: err.fields() });
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#ownLog?.close();
    await this.#evidence.close();
  }

  async #cosign(body: Buffer): Promise<Envelope> {
    let log: string | null = null;
    try {
      const { submission, segment } = this.#read(body);
      log = submission.checkpoint.log;
      return await this.#accept(submission, segment);
    } catch (err) {
      if (err instanceof CordonError) {
        await this.#audit.append({ type: "witness.refused", enforcer: WITNESS_ENFORCER, code: err.code, ...(log === null ? {} : { log }), fault: err.fields() });
      }
      throw err;
    }
  }

  /** Parses and authenticates a request: the checkpoint must verify under the log's pinned key. */
  #read(body: Buffer): { submission: Submission; segment: string } {
    const maxBytes = this.#opts.maxRequestBytes ?? MAX_WITNESS_REQUEST_BYTES;
    if (body.byteLength > maxBytes) throw new AuditWitnessTooLarge("bytes", maxBytes);
    const nl = body.indexOf(0x0a);
    const headText = (nl < 0 ? body : body.subarray(0, nl)).toString("utf8");
    const segment = nl < 0 ? "" : body.subarray(nl + 1).toString("utf8");
    let head: unknown;
    try {
      head = JSON.parse(headText);
    } catch {
      throw new AuditWitnessMalformed("the first line is not JSON");
    }
    if (typeof head !== "object" || head === null) throw new AuditWitnessMalformed("the first line is not an object");
    const { checkpoint: envelope, logPublicKey } = head as Record<string, unknown>;
    if (typeof logPublicKey !== "string" || logPublicKey.length > 4096) throw new AuditWitnessMalformed("logPublicKey must be an SPKI PEM");
    const payload = (envelope as { payload?: unknown } | null)?.payload;
    // Which log this claims to be, to find its pinned key; the claim is only believed once verified.
    const claimed = typeof payload === "string" && payload.length < 4096 ? decodeCheckpoint(Buffer.from(payload, "base64")) : null;
    if (claimed === null) throw new AuditWitnessMalformed("checkpoint is not a checkpoint envelope");
    if (!LOG_NAME.test(claimed.log)) throw new AuditWitnessMalformed("the log name is not a plain file name");
    const { key, pinnedBy, pem } = this.#pinnedKey(claimed.log, logPublicKey);
    let verified: Buffer;
    try {
      verified = verifyEnvelope(envelope, CHECKPOINT_PAYLOAD_TYPE, new Map([[keyId(key), key]]), `checkpoint of ${claimed.log}`);
    } catch (err) {
      if (err instanceof SignatureInvalid) throw new AuditWitnessSignature(claimed.log);
      throw err;
    }
    const checkpoint = decodeCheckpoint(verified);
    if (checkpoint === null) throw new AuditWitnessMalformed("checkpoint payload");
    return { submission: { checkpoint, envelope: envelope as Envelope, digest: checkpointDigest(envelope as Envelope), key, logPublicKey: pem, pinnedBy }, segment };
  }

  #pinnedKey(log: string, offered: string): { key: KeyObject; pinnedBy: LogState["pinnedBy"]; pem: string } {
    const state = this.#states.get(log);
    if (state !== undefined) return { key: ed25519PublicKey(state.logPublicKey), pinnedBy: state.pinnedBy, pem: state.logPublicKey };
    const configured = this.#opts.logs ?? new Map<string, KeyObject>();
    const pin = configured.get(log);
    if (pin !== undefined) return { key: pin, pinnedBy: "configuration", pem: pin.export({ type: "spki", format: "pem" }).toString() };
    if (configured.size > 0) throw new AuditWitnessUnknownLog(log, "not-configured");
    if (this.#states.size >= (this.#opts.maxLogs ?? DEFAULT_MAX_LOGS)) throw new AuditWitnessUnknownLog(log, "full");
    let key: KeyObject;
    try {
      key = ed25519PublicKey(offered, "logPublicKey");
    } catch {
      throw new AuditWitnessMalformed("logPublicKey is not an Ed25519 public key");
    }
    return { key, pinnedBy: "first-use", pem: key.export({ type: "spki", format: "pem" }).toString() };
  }

  /** The consistency check against the stored head, then the durable new state. */
  async #accept(sub: Submission, segment: string): Promise<Envelope> {
    const cp = sub.checkpoint;
    const last = this.#states.get(cp.log);
    const maxRecords = this.#opts.maxSegmentRecords ?? MAX_SEGMENT_RECORDS;
    const records = segment === "" ? 0 : segment.split("\n").length - 1;
    if (records > maxRecords) throw new AuditWitnessTooLarge("records", maxRecords);
    if (last !== undefined) {
      if (cp.seq < last.seq) throw new AuditWitnessRollback(cp.log, cp.seq, last.seq);
      if (cp.seq === last.seq && cp.head !== last.head) {
        const fork = new AuditWitnessFork(cp.log, cp.seq, last.head, cp.head);
        await this.#keepEvidence(fork, last, sub);
        throw fork;
      }
      if (cp.seq === last.seq && records === 0) return last.cosignature; // the same checkpoint again
    }
    if (records > 0 || last !== undefined) {
      const from = last === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: last.seq, hash: last.head };
      const firstSeq = firstRecordSeq(segment);
      if (firstSeq !== from.seq + 1) throw new AuditWitnessStale(cp.log, from.seq, firstSeq ?? 0);
      const verdict = verifyChain(segment, from);
      const unlinked = !verdict.ok
        ? new AuditWitnessUnlinked(cp.log, verdict.firstBadSeq, verdict.reason)
        : verdict.count !== cp.seq
          ? new AuditWitnessUnlinked(cp.log, verdict.count + 1, "count")
          : verdict.head?.hash !== cp.head
            ? new AuditWitnessUnlinked(cp.log, cp.seq, "head")
            : null;
      if (unlinked !== null) {
        if (last !== undefined) await this.#keepEvidence(unlinked, last, sub);
        throw unlinked;
      }
    }
    const logKeyId = keyId(sub.key);
    const witnessedAt = this.#now().toISOString();
    const cosignature = signEnvelope(COSIGNATURE_PAYLOAD_TYPE, encodeCosignature({ log: cp.log, logKeyId, seq: cp.seq, head: cp.head, checkpointDigest: sub.digest, witnessedAt }), this.#key);
    const state: LogState = { log: cp.log, logPublicKey: sub.logPublicKey, logKeyId, pinnedBy: sub.pinnedBy, seq: cp.seq, head: cp.head, checkpoint: sub.envelope, cosignature };
    saveLogState(this.#opts.dataDir, state);
    this.#states.set(cp.log, state);
    if (last === undefined) await this.#audit.append({ type: "witness.log-pinned", log: cp.log, logKeyId, pinnedBy: sub.pinnedBy });
    await this.#audit.append({ type: "witness.cosigned", log: cp.log, witnessedSeq: cp.seq, head: cp.head, records, checkpointDigest: sub.digest });
    return cosignature;
  }

  /** Keeps both signed checkpoints: the one cosigned and the one that contradicts it. */
  async #keepEvidence(err: AuditWitnessFork | AuditWitnessUnlinked, last: LogState, sub: Submission): Promise<void> {
    const entry = { at: this.#now().toISOString(), code: err.code, fault: err.fields(), cosigned: last.checkpoint, submitted: sub.envelope };
    await this.#evidence.write(`${JSON.stringify(entry)}\n`);
  }
}

/** The seq of the segment's first record, or null if it has none that parses. */
function firstRecordSeq(segment: string): number | null {
  const line = segment.slice(0, Math.max(0, segment.indexOf("\n")));
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === "number" && Number.isSafeInteger(seq) ? seq : null;
  } catch {
    return null;
  }
}
