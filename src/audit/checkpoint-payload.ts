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

/** Where a log's checkpoints go: one signed envelope per line. */
export function checkpointPath(auditPath: string): string {
  return `${auditPath}.checkpoints`;
}
