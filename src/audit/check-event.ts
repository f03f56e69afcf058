// Validates an event and takes a frozen, plain-JSON snapshot of it. Done once, when the event
// enters the log, so later mutation of the caller's object (or a getter that answers
// differently each time) cannot make a record disagree with its own hash.
import type { Json } from "../errors.js";
import { isEnforcerName } from "../enforcers.js";
import { AuditEventInvalid, NotCanonicalJson } from "./audit-errors.js";
import { canonicalJson, memberPath } from "./canonical-json.js";
import type { AuditEvent } from "./types.js";

/**
 * Field names that carry secrets or raw tool traffic. An audit log is read by operators and
 * shipped to other systems, so it must never hold credentials or a tool's raw input/output.
 * A field with one of these names (case-insensitive, exact, at any nesting level) is refused:
 * record a size and a digest instead (`inputBytes`, `inputSha256`). The match is exact so that
 * those digest names, and names such as `keyId`, stay usable.
 */
export const SECRET_FIELD_NAMES: readonly string[] = Object.freeze([
  "token", "authorization", "password", "secret", "key", "privatekey",
  "stdout", "stderr", "output", "input",
]);

/** Set by the log itself; an event may not supply them. */
export const RESERVED_FIELD_NAMES: readonly string[] = Object.freeze(["seq", "time", "prev", "hash"]);

/** An encoded event larger than this is refused: audit records hold decisions, not payloads. */
export const MAX_EVENT_BYTES = 64 * 1024;

const EVENT_TYPE = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+$/;

/** An event that passed `checkEvent`: plain JSON, no undefined members, deeply frozen. */
export type EventSnapshot = Readonly<Record<string, Json>> & { readonly type: string };

export function checkEvent(event: AuditEvent): EventSnapshot {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new AuditEventInvalid("$", "an event must be a plain object");
  }
  let encoded: string;
  try {
    encoded = canonicalJson(event);
  } catch (err) {
    if (err instanceof NotCanonicalJson) throw new AuditEventInvalid(err.path, err.problem);
    throw err;
  }
  const bytes = Buffer.byteLength(encoded, "utf8");
  if (bytes > MAX_EVENT_BYTES) {
    throw new AuditEventInvalid("$", `event encodes to ${bytes} bytes, over the ${MAX_EVENT_BYTES}-byte cap`,
      "record sizes and digests of large values, not the values");
  }
  const snapshot = JSON.parse(encoded) as Record<string, Json>;
  for (const name of RESERVED_FIELD_NAMES) {
    if (Object.hasOwn(snapshot, name)) throw new AuditEventInvalid(`$.${name}`, "set by the log, not by the event");
  }
  const { type, enforcer, code } = snapshot;
  if (typeof type !== "string" || !EVENT_TYPE.test(type)) {
    throw new AuditEventInvalid("$.type", "must be '<area>.<past-tense>' in lower case, e.g. 'call.denied'");
  }
  if (enforcer !== undefined && (typeof enforcer !== "string" || !isEnforcerName(enforcer))) {
    // Only the registry's enforcers may be credited with anything: a name outside it is a bug.
    throw new AuditEventInvalid("$.enforcer", "must be an enforcer of the registry (src/enforcers.ts)");
  }
  if (code !== undefined && typeof code !== "string") throw new AuditEventInvalid("$.code", "must be a string");
  refuseSecretNames(snapshot, "$");
  return deepFreeze(snapshot) as EventSnapshot;
}

function refuseSecretNames(value: Json, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => refuseSecretNames(item, `${path}[${i}]`));
    return;
  }
  if (typeof value !== "object" || value === null) return;
  for (const [key, member] of Object.entries(value)) {
    const at = memberPath(path, key);
    if (SECRET_FIELD_NAMES.includes(key.toLowerCase())) {
      throw new AuditEventInvalid(at, "field name looks like a secret or raw tool traffic",
        `record a size and digest instead (e.g. '${key}Bytes', '${key}Sha256')`);
    }
    refuseSecretNames(member, at);
  }
}

function deepFreeze<T extends Json>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
