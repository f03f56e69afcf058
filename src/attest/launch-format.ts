// The attested launch statement: an in-toto Statement v1 in a DSSE envelope, signed by the
// control plane's per-boot launch key. This file needs only node:crypto: the cell imports it to
// check the statement against the bytes it actually received before it serves anything.
import { verify, type KeyObject } from "node:crypto";
import { pae } from "../crypto/dsse-core.js";

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const LAUNCH_PREDICATE_TYPE = "https://cordon.dev/attestations/launch/v1";

export interface LaunchSubject {
  readonly name: string;
  readonly digest: { readonly sha256: string };
}

export interface LaunchPredicate {
  /** The cell process the session was assigned (null in-process: no cell). */
  readonly cellId: string | null;
  readonly session: string;
  /** sha256 of the canonical principal (issuer, subject, role, tenant). */
  readonly principalDigest: string;
  readonly role: string;
  readonly policySha256: string;
  readonly tier: "cell" | "in-process";
  readonly granularity: "per-session" | "per-role";
  readonly limits: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Process-tier tools' scripts, checked by the control plane before each call. */
  readonly scripts: readonly LaunchSubject[];
  /** sha256 of the runtime lock manifest in force, or null when none was verified. */
  readonly runtimeLockSha256: string | null;
  readonly launchedAt: string;
}

export interface LaunchStatement {
  readonly _type: typeof IN_TOTO_STATEMENT_TYPE;
  /** The Wasm modules the cell must hold, by tool name. */
  readonly subject: readonly LaunchSubject[];
  readonly predicateType: typeof LAUNCH_PREDICATE_TYPE;
  readonly predicate: LaunchPredicate;
}


const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks a launch envelope (JSON text) in a cell: signed by `launchKey`, for this cell and this
 * session, naming exactly the modules the cell holds (name -> sha256 of the bytes received).
 * Returns null when it holds, or why not. Never throws on hostile input.
 */
export function checkLaunch(
  envelopeJson: string,
  launchKey: KeyObject,
  expect: { readonly cellId: string; readonly session: string; readonly modules: ReadonlyMap<string, string> },
): string | null {
  let env: unknown;
  try {
    env = JSON.parse(envelopeJson);
  } catch {
    return "envelope is not JSON";
  }
  if (!isObject(env) || env["payloadType"] !== IN_TOTO_PAYLOAD_TYPE || typeof env["payload"] !== "string" || !Array.isArray(env["signatures"])) return "envelope is malformed";
  const payload = Buffer.from(env["payload"], "base64");
  if (payload.toString("base64") !== env["payload"]) return "payload is not canonical base64";
  const message = pae(IN_TOTO_PAYLOAD_TYPE, payload);
  const signed = env["signatures"].slice(0, 4).some((s) => {
    if (!isObject(s) || typeof s["sig"] !== "string") return false;
    const sig = Buffer.from(s["sig"], "base64");
    return sig.byteLength === 64 && verify(null, message, launchKey, sig);
  });
  if (!signed) return "not signed by the launch key";
  let st: unknown;
  try {
    st = JSON.parse(payload.toString("utf8"));
  } catch {
    return "statement is not JSON";
  }
  if (!isObject(st) || st["_type"] !== IN_TOTO_STATEMENT_TYPE || st["predicateType"] !== LAUNCH_PREDICATE_TYPE || !isObject(st["predicate"]) || !Array.isArray(st["subject"])) {
    return "not a cordon launch statement";
  }
  const p = st["predicate"];
  if (p["cellId"] !== expect.cellId) return "statement is for another cell";
  if (p["session"] !== expect.session) return "statement is for another session";
  const named = new Map<string, unknown>();
  for (const s of st["subject"]) {
    if (!isObject(s) || typeof s["name"] !== "string" || !isObject(s["digest"]) || named.has(s["name"])) return "statement subjects are malformed";
    named.set(s["name"], s["digest"]["sha256"]);
  }
  if (named.size !== expect.modules.size) return "statement names other modules than the cell holds";
  for (const [name, digest] of expect.modules) {
    if (named.get(name) !== digest) return `module ${name.slice(0, 64)} does not match the statement`;
  }
  return null;
}
