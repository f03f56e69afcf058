// Builds audit fields from typed errors: codes and structured fields only, never messages,
// never guest-supplied text.
import type { CordonError, Json } from "../errors.js";

const MAX_NAME = 128;

/** Caller-supplied names (tool names) are truncated before they reach the log. */
export function clip(name: string): string {
  return name.length <= MAX_NAME ? name : `${name.slice(0, MAX_NAME)}…`;
}

export function errorFields(err: CordonError): Record<string, Json> {
  return { code: err.code, ...err.fields() };
}
