// `cordon audit verify`: checks the hash chain of a log on disk and, given trusted keys, its
// signed checkpoints (`<log>.checkpoints`), which also catch truncation and a rewritten chain.
import type { KeyObject } from "node:crypto";
import { basename } from "node:path";
import { AuditCheckpointMissing, AuditUnreadable } from "./audit-errors.js";
import { checkpointPath } from "./checkpoint-payload.js";
import { readAuditFile } from "./read-audit-file.js";
import { verifyCheckpoints, type CheckpointVerdict } from "./verify-checkpoints.js";
import { verifyChain } from "./verify-chain.js";
import type { ChainVerdict } from "./types.js";

export interface VerifyAuditOptions {
  /** Keys whose checkpoints are trusted (keyid → Ed25519 public key). Without it, only the chain is checked. */
  readonly trusted?: ReadonlyMap<string, KeyObject>;
}

/** The chain verdict, plus `checkpoints` when `trusted` is given (only for an intact chain). */
export type AuditFileVerdict = ChainVerdict & { readonly checkpoints?: CheckpointVerdict };

/** The verdict for the file at `path`; a missing file is AuditUnreadable, not "ok". */
export async function verifyAuditFile(path: string, options: VerifyAuditOptions = {}): Promise<AuditFileVerdict> {
  const text = await readAuditFile(path);
  const chain = verifyChain(text);
  if (options.trusted === undefined || !chain.ok) return chain;
  const file = checkpointPath(path);
  let checkpointsText: string;
  try {
    checkpointsText = await readAuditFile(file);
  } catch (err) {
    if (err instanceof AuditUnreadable && err.reason === "ENOENT") return { ...chain, checkpoints: { ok: false, error: new AuditCheckpointMissing(file) } };
    throw err;
  }
  const lines = text.split("\n");
  const checkpoints = verifyCheckpoints(checkpointsText, options.trusted, {
    logName: basename(path),
    checkpointFile: file,
    count: chain.count,
    // The chain is verified, so line seq-1 is record `seq`, in canonical form.
    hashAt: (seq) => (JSON.parse(lines[seq - 1] ?? "{}") as { hash?: string }).hash ?? "",
  });
  return { ...chain, checkpoints };
}

/** Whether nothing is wrong: the chain is intact and, if checked, so are its checkpoints. */
export function auditVerdictOk(verdict: AuditFileVerdict): boolean {
  return verdict.ok && (verdict.checkpoints === undefined || verdict.checkpoints.ok);
}
