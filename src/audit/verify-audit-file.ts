// `cordon audit verify`: checks the hash chain of a log on disk.
import { readAuditFile } from "./read-audit-file.js";
import { verifyChain } from "./verify-chain.js";
import type { ChainVerdict } from "./types.js";

/** The chain verdict for the file at `path`; a missing file is AuditUnreadable, not "ok". */
export async function verifyAuditFile(path: string): Promise<ChainVerdict> {
  return verifyChain(await readAuditFile(path));
}
