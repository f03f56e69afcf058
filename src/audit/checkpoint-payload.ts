// What a signed audit checkpoint says: in log `log`, record `seq` has hash `head`, as of `at`.
import { canonicalJson } from "./canonical-json.js";

export const CHECKPOINT_PAYLOAD_TYPE = "application/vnd.cordon.audit-checkpoint+json";

export interface Checkpoint {
  /** The audit file's basename (a checkpoint of one log is not valid for another). */
  readonly log: string;
  readonly seq: number;
  /** Hex sha256 of record `seq` (its `hash` field). */
  readonly head: string;
  /** ISO-8601 UTC, from the checkpointer's clock. */
  readonly at: string;
}

/** The signed bytes: canonical JSON. */
export function encodeCheckpoint(cp: Checkpoint): Buffer {
  return Buffer.from(canonicalJson({ at: cp.at, head: cp.head, log: cp.log, seq: cp.seq }), "utf8");
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The checkpoint in signed payload bytes, or null unless they are exactly the canonical
 * encoding of {log, seq, head, at} (a signer's bytes are still parsed strictly: no extra
 * members, no second spelling of the same checkpoint).
 */
export function decodeCheckpoint(payload: Uint8Array): Checkpoint | null {
  const text = Buffer.from(payload).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
    if (canonicalJson(value) !== text) return null;
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const { log, seq, head, at, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return null;
  if (typeof log !== "string" || typeof head !== "string" || !HEX64.test(head) || typeof at !== "string" || !ISO_UTC.test(at)) return null;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return null;
  return { log, seq, head, at };
}

/** Where a log's checkpoints go: one signed envelope per line. */
export function checkpointPath(auditPath: string): string {
  return `${auditPath}.checkpoints`;
}
