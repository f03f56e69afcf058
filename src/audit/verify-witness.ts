// Checks a log against a witness's cosignatures. Pure: the caller fetches them (from the
// witness, or a file of them) and reads the log. A checkpoint file cut back together with its
// log still verifies on its own; the witness's latest cosignature does not move back with it,
// so a log shorter than it is truncated, and one with another hash at its seq was rewritten.
import type { KeyObject } from "node:crypto";
import { verifyEnvelope } from "../crypto/dsse.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { AuditTruncated, AuditWitnessInvalid, AuditWitnessMismatch, type AuditWitnessUnreachable } from "./audit-errors.js";
import { CHECKPOINT_PAYLOAD_TYPE, decodeCheckpoint } from "./checkpoint-payload.js";
import { checkpointDigest, openCosignature, type Cosignature } from "./witness-payload.js";
import type { Envelope } from "../crypto/dsse.js";

export type WitnessVerdict =
  | {
      readonly ok: true;
      /** Cosignatures checked, and the highest seq the witness vouches for. */
      readonly cosignatures: number;
      readonly witnessedSeq: number;
    }
  | { readonly ok: false; readonly error: AuditTruncated | AuditWitnessMismatch | AuditWitnessInvalid | AuditWitnessUnreachable };

/** A cosignature as fetched: with the checkpoint it cosigned (from the witness) or alone (from a file). */
export interface WitnessEntry {
  readonly cosignature: unknown;
  readonly checkpoint?: unknown;
}

export interface WitnessSubject {
  /** Where the cosignatures came from (a URL or a file), for errors. */
  readonly source: string;
  /** The audit file's basename, which every checkpoint and cosignature names. */
  readonly logName: string;
  /** Records in the (chain-verified) log, and the hash of record `seq` (1 ≤ seq ≤ count). */
  readonly count: number;
  readonly hashAt: (seq: number) => string;
}

/**
 * Every entry must be a cosignature by `witnessKeys` for this log, over a checkpoint signed by
 * a key of `trusted` (the log's checkpoint keys); then the log must reach each cosigned seq
 * (else AuditTruncated) with the cosigned hash there (else AuditWitnessMismatch). No entry at
 * all is AuditWitnessInvalid (none): a witness that vouches for nothing rules nothing out.
 */
export function verifyWitnessed(entries: readonly WitnessEntry[], witnessKeys: ReadonlyMap<string, KeyObject>, trusted: ReadonlyMap<string, KeyObject>, subject: WitnessSubject): WitnessVerdict {
  if (entries.length === 0) return { ok: false, error: new AuditWitnessInvalid(subject.source, "none") };
  const cosigned: Cosignature[] = [];
  for (const entry of entries) {
    const opened = openCosignature(entry.cosignature, witnessKeys);
    if (!("cosignature" in opened)) return { ok: false, error: new AuditWitnessInvalid(subject.source, opened.fault) };
    const c = opened.cosignature;
    if (c.log !== subject.logName) return { ok: false, error: new AuditWitnessInvalid(subject.source, "other-log") };
    if (!trusted.has(c.logKeyId)) return { ok: false, error: new AuditWitnessInvalid(subject.source, "other-key") };
    if (entry.checkpoint !== undefined && !checkpointMatches(entry.checkpoint, c, trusted)) return { ok: false, error: new AuditWitnessInvalid(subject.source, "checkpoint") };
    cosigned.push(c);
  }
  for (const c of cosigned) {
    if (c.seq > subject.count) return { ok: false, error: new AuditTruncated(c.seq, subject.count) };
    if (subject.hashAt(c.seq) !== c.head) return { ok: false, error: new AuditWitnessMismatch(c.seq) };
  }
  return { ok: true, cosignatures: cosigned.length, witnessedSeq: Math.max(...cosigned.map((c) => c.seq)) };
}

/** The checkpoint is signed by a trusted log key and is exactly the one the cosignature names. */
function checkpointMatches(raw: unknown, c: Cosignature, trusted: ReadonlyMap<string, KeyObject>): boolean {
  let payload: Buffer;
  try {
    payload = verifyEnvelope(raw, CHECKPOINT_PAYLOAD_TYPE, trusted, "witnessed checkpoint");
  } catch (err) {
    if (err instanceof SignatureInvalid) return false;
    throw err;
  }
  const cp = decodeCheckpoint(payload);
  return cp !== null && cp.log === c.log && cp.seq === c.seq && cp.head === c.head && checkpointDigest(raw as Envelope) === c.checkpointDigest;
}
