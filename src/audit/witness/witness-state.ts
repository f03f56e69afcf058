// A witness's durable state: per log, the key it pinned and the latest checkpoint it cosigned.
// One small JSON file per log in `<data>/logs/`, replaced atomically (a new file written and
// fsynced, renamed over the old one, the directory fsynced), so a crash leaves the old state or
// the new one. Loading re-verifies every file (the checkpoint under the pinned key, the
// cosignature under the witness's own key): a witness never serves state it cannot vouch for.
import { mkdirSync, readdirSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { ed25519PublicKey, keyId, verifyEnvelope, type Envelope } from "../../crypto/dsse.js";
import { currentUid, readCheckedFile } from "../../crypto/file-trust.js";
import { writeFileAtomic } from "../../crypto/write-atomic.js";
import { AuditWitnessStateInvalid } from "../audit-errors.js";
import { CHECKPOINT_PAYLOAD_TYPE, decodeCheckpoint } from "../checkpoint-payload.js";
import { checkpointDigest, LOG_NAME, openCosignature } from "../witness-payload.js";

export type PinnedBy = "first-use" | "configuration";

/** What the witness knows of one log. */
export interface LogState {
  readonly log: string;
  /** The log's checkpoint key (SPKI PEM) and its keyid. */
  readonly logPublicKey: string;
  readonly logKeyId: string;
  readonly pinnedBy: PinnedBy;
  /** The latest cosigned checkpoint. */
  readonly seq: number;
  readonly head: string;
  readonly checkpoint: Envelope;
  readonly cosignature: Envelope;
}

export function logsDir(dataDir: string): string {
  return join(dataDir, "logs");
}

function stateFile(dataDir: string, log: string): string {
  return join(logsDir(dataDir), `${log}.json`);
}

/** Durably replaces the state of `state.log`. */
export function saveLogState(dataDir: string, state: LogState): void {
  writeFileAtomic(stateFile(dataDir, state.log), `${JSON.stringify({ version: 1, ...state }, null, 2)}\n`, 0o600);
}

/**
 * Every log's state, verified. `configured` pins (name → key) must agree with what a state
 * file pinned; a file that does not verify, or disagrees, is AuditWitnessStateInvalid.
 */
export function loadLogStates(dataDir: string, witnessKeys: ReadonlyMap<string, KeyObject>, configured: ReadonlyMap<string, KeyObject>): Map<string, LogState> {
  const dir = logsDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const states = new Map<string, LogState>();
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    const file = join(dir, name);
    const state = parseState(file, name.slice(0, -".json".length), witnessKeys);
    const pin = configured.get(state.log);
    if (pin !== undefined && keyId(pin) !== state.logKeyId) throw new AuditWitnessStateInvalid(file, "pinned to another log key than --log configures");
    states.set(state.log, state);
  }
  return states;
}

function parseState(file: string, log: string, witnessKeys: ReadonlyMap<string, KeyObject>): LogState {
  const read = readCheckedFile(file, "trusted", currentUid());
  if (!read.ok) throw new AuditWitnessStateInvalid(file, read.reason);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(read.bytes.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new AuditWitnessStateInvalid(file, "not JSON");
  }
  const bad = (reason: string): never => {
    throw new AuditWitnessStateInvalid(file, reason);
  };
  if (value["version"] !== 1 || value["log"] !== log || !LOG_NAME.test(log)) bad("not a version-1 state of this log");
  const { logPublicKey, pinnedBy, checkpoint, cosignature } = value;
  if (typeof logPublicKey !== "string" || (pinnedBy !== "first-use" && pinnedBy !== "configuration")) bad("no pinned key");
  let key: KeyObject;
  try {
    key = ed25519PublicKey(logPublicKey as string, file);
  } catch {
    return bad("the pinned key is not an Ed25519 public key");
  }
  const logKeyId = keyId(key);
  let payload: Buffer;
  try {
    payload = verifyEnvelope(checkpoint, CHECKPOINT_PAYLOAD_TYPE, new Map([[logKeyId, key]]), file);
  } catch {
    return bad("the stored checkpoint is not signed by the pinned key");
  }
  const cp = decodeCheckpoint(payload);
  const opened = openCosignature(cosignature, witnessKeys);
  if (cp === null || cp.log !== log || !("cosignature" in opened)) return bad("the stored cosignature is not this witness's");
  const cos = opened.cosignature;
  if (cos.log !== log || cos.seq !== cp.seq || cos.head !== cp.head || cos.logKeyId !== logKeyId || cos.checkpointDigest !== checkpointDigest(checkpoint as Envelope)) bad("the stored cosignature does not match its checkpoint");
  return {
    log,
    logPublicKey: logPublicKey as string,
    logKeyId,
    pinnedBy: pinnedBy as PinnedBy,
    seq: cp.seq,
    head: cp.head,
    checkpoint: checkpoint as Envelope,
    cosignature: cosignature as Envelope,
  };
}
