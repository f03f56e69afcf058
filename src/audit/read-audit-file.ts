// Reads an audit log's text for verification or display.
import { readFile } from "node:fs/promises";
import { AuditUnreadable } from "./audit-errors.js";

/** The whole log as text. A missing or unreadable file is AuditUnreadable (reason: errno code). */
export async function readAuditFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
    throw new AuditUnreadable(path, typeof code === "string" ? code : "unknown");
  }
}
