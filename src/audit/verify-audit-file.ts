// `cordon audit verify`: checks the hash chain of a log on disk and, given trusted keys, its
// signed checkpoints (`<log>.checkpoints`), which also catch truncation and a rewritten chain;
// given a witness too, that the log still holds what the witness last cosigned, which catches
// the log and its checkpoint file cut back together.
import type { KeyObject } from "node:crypto";
import { basename } from "node:path";
import { AuditCheckpointMissing, AuditUnreadable, AuditWitnessInvalid, AuditWitnessRejected, AuditWitnessUnreachable } from "./audit-errors.js";
import { checkpointPath } from "./checkpoint-payload.js";
import { readAuditFile } from "./read-audit-file.js";
import { verifyCheckpoints, type CheckpointVerdict } from "./verify-checkpoints.js";
import { verifyChain } from "./verify-chain.js";
import { verifyWitnessed, type WitnessEntry, type WitnessVerdict } from "./verify-witness.js";
import { WitnessClient, type Fetch } from "./witness-client.js";
import type { ChainVerdict } from "./types.js";

/** Where the witness's cosignatures come from: the witness itself, or a file of them (JSONL). */
export type WitnessSource = { readonly url: string; readonly fetch?: Fetch } | { readonly file: string };

export interface VerifyAuditOptions {
  /** Keys whose checkpoints are trusted (keyid → Ed25519 public key). Without it, only the chain is checked. */
  readonly trusted?: ReadonlyMap<string, KeyObject>;
  /** Also check the witness's cosignatures (needs `trusted`: a cosignature names the log key it checked). */
  readonly witness?: { readonly source: WitnessSource; readonly keys: ReadonlyMap<string, KeyObject> };
}

/** The chain verdict, plus `checkpoints` when `trusted` is given and `witness` when a witness is (only for an intact chain). */
export type AuditFileVerdict = ChainVerdict & { readonly checkpoints?: CheckpointVerdict; readonly witness?: WitnessVerdict };

/** The verdict for the file at `path`; a missing file is AuditUnreadable, not "ok". */
export async function verifyAuditFile(path: string, options: VerifyAuditOptions = {}): Promise<AuditFileVerdict> {
  const text = await readAuditFile(path);
  const chain = verifyChain(text);
  if (options.trusted === undefined || !chain.ok) return chain;
  const lines = text.split("\n");
  // The chain is verified, so line seq-1 is record `seq`, in canonical form.
  const hashAt = (seq: number) => (JSON.parse(lines[seq - 1] ?? "{}") as { hash?: string }).hash ?? "";
  const file = checkpointPath(path);
  let checkpoints: CheckpointVerdict;
  try {
    checkpoints = verifyCheckpoints(await readAuditFile(file), options.trusted, { logName: basename(path), checkpointFile: file, count: chain.count, hashAt });
  } catch (err) {
    if (!(err instanceof AuditUnreadable && err.reason === "ENOENT")) throw err;
    checkpoints = { ok: false, error: new AuditCheckpointMissing(file) };
  }
  if (options.witness === undefined) return { ...chain, checkpoints };
  const { source, keys } = options.witness;
  const name = "url" in source ? source.url : source.file;
  const loaded = await loadWitnessEntries(source, basename(path));
  const witness = Array.isArray(loaded) ? verifyWitnessed(loaded, keys, options.trusted, { source: name, logName: basename(path), count: chain.count, hashAt }) : { ok: false as const, error: loaded };
  return { ...chain, checkpoints, witness };
}

/** Whether nothing is wrong: the chain is intact and, if checked, so are its checkpoints and its witness. */
export function auditVerdictOk(verdict: AuditFileVerdict): boolean {
  return verdict.ok && (verdict.checkpoints === undefined || verdict.checkpoints.ok) && (verdict.witness === undefined || verdict.witness.ok);
}

/** The cosignatures to check, or why there are none to be had. */
async function loadWitnessEntries(source: WitnessSource, log: string): Promise<WitnessEntry[] | AuditWitnessUnreachable | AuditWitnessInvalid> {
  if ("url" in source) {
    try {
      const latest = await new WitnessClient({ url: source.url, ...(source.fetch === undefined ? {} : { fetch: source.fetch }) }).latest(log);
      return latest === null ? [] : [latest];
    } catch (err) {
      if (err instanceof AuditWitnessUnreachable) return err;
      // A refusal to say (any 4xx but "never seen"): nothing is vouched for.
      if (err instanceof AuditWitnessRejected) return new AuditWitnessUnreachable(err.witness, err.remoteCode);
      throw err;
    }
  }
  let text: string;
  try {
    text = await readAuditFile(source.file);
  } catch (err) {
    if (err instanceof AuditUnreadable && err.reason === "ENOENT") return [];
    throw err;
  }
  const entries: WitnessEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return new AuditWitnessInvalid(source.file, "malformed");
    }
    // A line is a cosignature envelope (the control plane's <audit>.witness) or a saved witness answer.
    const saved = typeof value === "object" && value !== null && "cosignature" in value ? (value as { cosignature: unknown; checkpoint?: unknown }) : null;
    entries.push(saved === null ? { cosignature: value } : saved.checkpoint === undefined ? { cosignature: saved.cosignature } : { cosignature: saved.cosignature, checkpoint: saved.checkpoint });
  }
  return entries;
}
