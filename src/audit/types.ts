// Shapes shared by the audit chain: what callers log, what the log stores, what a verifier says.
import type { Json } from "../errors.js";
import type { EnforcerName } from "../enforcers.js";

/**
 * One decision or happening, as a caller describes it. `type` is `<area>.<past-tense>`
 * ("call.denied", "limit.exceeded"). Fields whose value is `undefined` are dropped.
 * Never put secrets or raw tool input/output here: record sizes and digests instead
 * (`inputBytes`, `inputSha256`). `buildRecord` refuses the obvious carrier names.
 */
export interface AuditEvent {
  readonly type: string;
  /** Only a registry name: a record can never credit an enforcer cordon does not have. */
  readonly enforcer?: EnforcerName | undefined;
  readonly code?: string | undefined;
  readonly [field: string]: Json | undefined;
}

/** An event as stored: its fields plus the chain links. Frozen. */
export interface AuditRecord {
  readonly type: string;
  readonly enforcer?: EnforcerName;
  readonly code?: string;
  /** 1-based, consecutive. */
  readonly seq: number;
  /** ISO-8601 UTC, from the log's clock. */
  readonly time: string;
  /** `hash` of the previous record, or `GENESIS_HASH` for seq 1. */
  readonly prev: string;
  /** Hex sha256 over the canonical JSON of this record without `hash`. */
  readonly hash: string;
  readonly [field: string]: Json;
}

/** The last record of a chain, which the next record links to. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Why a chain failed verification.
 * - `parse`: a line is not a canonical JSON record (bad JSON, missing link fields, extra whitespace).
 * - `hash`: a record's content does not match its own hash (it was edited).
 * - `seq`: a record sits at the wrong position (reordered, or a record before it is missing).
 * - `duplicate`: a sequence number appears again.
 * - `prev`: a record does not link to the record before it.
 * - `truncated-line`: the last line has no terminating newline (a partial write).
 */
export type ChainFault = "parse" | "seq" | "prev" | "hash" | "duplicate" | "truncated-line";

/**
 * `firstBadSeq` is the sequence number the first bad line should have carried
 * (the last good seq + 1): every record before it is intact and linked.
 */
export type ChainVerdict =
  | { readonly ok: true; readonly count: number; readonly head: ChainHead | null }
  | { readonly ok: false; readonly firstBadSeq: number; readonly reason: ChainFault };

/**
 * How the log's witness is doing, as its WitnessAnchor last reported it (see witness-anchor.ts);
 * /metrics shows it. Null on a log without a witness.
 */
export interface WitnessStatus {
  /** The witness's URL. */
  readonly witness: string;
  /** Whether the last exchange with it succeeded (false until the first one has). */
  readonly up: boolean;
  /** Failed exchanges since this process started. */
  readonly failures: number;
  /** The highest seq the witness has cosigned for this log (0: none known yet). */
  readonly cosignedSeq: number;
}

/** Where encoded records go. `write` resolves only once the bytes are durable. */
export interface AuditSink {
  /** Append one or more complete `\n`-terminated lines; all or nothing. */
  write(lines: string): Promise<void>;
  close(): Promise<void>;
}

/** `prev` of the first record. */
export const GENESIS_HASH = "0".repeat(64);
