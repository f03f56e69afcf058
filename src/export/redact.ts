// The last guard before an audit record leaves for another system. The log already refuses
// secret-named fields when it writes a record (check-event.ts); a file can still have been
// edited or written by an older build, so every exported record is scrubbed again: a field named
// like a secret carrier is dropped at any depth, a value shaped like a credential (a JWT, a PEM
// block, a bearer header) is replaced. Pure.
import { SECRET_FIELD_NAMES } from "../audit/index.js";
import type { Json } from "../errors.js";

export const REDACTED = "[redacted]";

const CREDENTIAL_SHAPES: readonly RegExp[] = [
  /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/, // a JWS/JWT (its header always starts {" = eyJ)
  /-----BEGIN [A-Z ]*(?:PRIVATE KEY|CERTIFICATE|KEY)-----/,
  /\bBearer\s+[A-Za-z0-9._~+/-]{8,}/i,
];

export interface Scrubbed<T> {
  readonly value: T;
  /** Paths of what was dropped or replaced ("$.a.token"), for the export to say so. */
  readonly redacted: readonly string[];
}

export function looksLikeCredential(text: string): boolean {
  return CREDENTIAL_SHAPES.some((re) => re.test(text));
}

export function scrub(value: Json, path = "$"): Scrubbed<Json> {
  const redacted: string[] = [];
  const walk = (v: Json, at: string): Json => {
    if (typeof v === "string") {
      if (!looksLikeCredential(v)) return v;
      redacted.push(at);
      return REDACTED;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${at}[${i}]`));
    if (v !== null && typeof v === "object") {
      const out: Record<string, Json> = {};
      for (const [k, item] of Object.entries(v)) {
        if (SECRET_FIELD_NAMES.includes(k.toLowerCase())) {
          redacted.push(`${at}.${k}`);
          continue;
        }
        out[k] = walk(item, `${at}.${k}`);
      }
      return out;
    }
    return v;
  };
  return { value: walk(value, path), redacted };
}
