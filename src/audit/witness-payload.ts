// What a witness's cosignature says, and the wire shapes of the witness protocol.
//
// A witness cosigns a log's checkpoint only if it is consistent with the last one it cosigned
// for that log (see witness/witness.ts). Its cosignature is a DSSE envelope of its own payload
// type over {log, logKeyId, seq, head, checkpointDigest, witnessedAt}: "I, the witness, saw
// log `log` (checkpoints signed by `logKeyId`) reach record `seq` with hash `head`, and every
// record since my previous cosignature links to it".
import { createHash, type KeyObject } from "node:crypto";
import { verifyEnvelope, type Envelope } from "../crypto/dsse.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { canonicalJson } from "./canonical-json.js";

/** The enforcer every witness record names: the witness refusing, and a log contradicting it. */
export const WITNESS_ENFORCER = "audit-witness";

export const COSIGNATURE_PAYLOAD_TYPE = "application/vnd.cordon.witness-cosignature+json";

export interface Cosignature {
  /** The log's name, as its checkpoints carry it (the audit file's basename). */
  readonly log: string;
  /** keyid (sha256 of the SPKI DER) of the log key the witness verified the checkpoint with. */
  readonly logKeyId: string;
  readonly seq: number;
  readonly head: string;
  /** Hex sha256 of the checkpoint's signed payload bytes. */
  readonly checkpointDigest: string;
  /** ISO-8601 UTC, from the witness's clock. */
  readonly witnessedAt: string;
}

/** The request body is one JSON line (this) followed by the segment: the records as JSONL. */
export interface CosignRequestHead {
  readonly checkpoint: Envelope;
  /** The log's checkpoint public key (SPKI PEM), pinned by a witness that trusts on first use. */
  readonly logPublicKey: string;
}

/** What a witness serves for a log: its latest cosignature and the checkpoint it cosigned. */
export interface WitnessLatest {
  readonly cosignature: Envelope;
  readonly checkpoint: Envelope;
}

/** The media type of a cosign request: a JSON head line, then JSONL records. */
export const COSIGN_CONTENT_TYPE = "application/x-ndjson";
/** A witness's routes (its base URL is configured; these follow it). */
export const COSIGN_PATH = "/v1/cosign";
export const latestPath = (log: string): string => `/v1/logs/${encodeURIComponent(log)}`;

/** Requests larger than this are refused (413) before they are parsed. */
export const MAX_WITNESS_REQUEST_BYTES = 4 * 1024 * 1024;
/**
 * Records per segment. A Checkpointer with a witness checkpoints at most every this many
 * records, and a longer backlog (after an outage) is sent as several signed checkpoints.
 */
export const MAX_SEGMENT_RECORDS = 10_000;

/** A log name a witness stores: the audit file's basename, nothing that could be a path. */
export const LOG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCosignature(c: Cosignature): Buffer {
  return Buffer.from(canonicalJson({ checkpointDigest: c.checkpointDigest, head: c.head, log: c.log, logKeyId: c.logKeyId, seq: c.seq, witnessedAt: c.witnessedAt }), "utf8");
}

/** The cosignature in signed payload bytes, or null unless they are exactly its canonical encoding. */
export function decodeCosignature(payload: Uint8Array): Cosignature | null {
  const text = Buffer.from(payload).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
    if (canonicalJson(value) !== text) return null;
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const { log, logKeyId, seq, head, checkpointDigest, witnessedAt, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return null;
  if (typeof log !== "string" || typeof witnessedAt !== "string" || !ISO_UTC.test(witnessedAt)) return null;
  for (const hex of [logKeyId, head, checkpointDigest]) if (typeof hex !== "string" || !HEX64.test(hex)) return null;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return null;
  return { log, logKeyId: logKeyId as string, seq, head: head as string, checkpointDigest: checkpointDigest as string, witnessedAt };
}

/**
 * The cosignature in `envelope` if a key of `witnessKeys` signed it; null if the envelope
 * is unsigned by them or its payload is not a cosignature. Never throws for bad input.
 */
export function openCosignature(envelope: unknown, witnessKeys: ReadonlyMap<string, KeyObject>): { readonly cosignature: Cosignature } | { readonly fault: "signature" | "malformed" } {
  let payload: Buffer;
  try {
    payload = verifyEnvelope(envelope, COSIGNATURE_PAYLOAD_TYPE, witnessKeys, "witness cosignature");
  } catch (err) {
    if (err instanceof SignatureInvalid) return { fault: "signature" };
    throw err;
  }
  const cosignature = decodeCosignature(payload);
  return cosignature === null ? { fault: "malformed" } : { cosignature };
}

/** Hex sha256 of a checkpoint envelope's payload bytes (what the log key signed). */
export function checkpointDigest(envelope: Envelope): string {
  return createHash("sha256").update(Buffer.from(envelope.payload, "base64")).digest("hex");
}

/** Where the control plane keeps the cosignatures it received: one envelope per line. */
export function cosignaturePath(auditPath: string): string {
  return `${auditPath}.witness`;
}
