// Deterministic JSON: the bytes the audit hash chain commits to.
//
// Object keys are sorted by UTF-16 code unit, there is no whitespace, and strings and numbers
// use JSON.stringify (shortest round-trip numbers, well-formed escapes for lone surrogates).
// Object members whose value is `undefined` are dropped, as JSON.stringify does; everything
// else that JSON cannot carry faithfully is refused rather than silently changed.
import { NotCanonicalJson } from "./audit-errors.js";

/** At most this many nested arrays/objects; deeper (or cyclic) values are a typed error. */
export const MAX_JSON_DEPTH = 64;

export function canonicalJson(value: unknown): string {
  return encode(value, "$", 0);
}

function encode(value: unknown, path: string, depth: number): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new NotCanonicalJson(path, "non-finite number");
      return JSON.stringify(value);
    case "object":
      if (value === null) return "null";
      if (depth >= MAX_JSON_DEPTH) throw new NotCanonicalJson(path, `nested deeper than ${MAX_JSON_DEPTH} (or cyclic)`);
      return Array.isArray(value) ? encodeArray(value, path, depth) : encodeObject(value, path, depth);
    case "undefined":
    case "bigint":
    case "symbol":
    case "function":
      throw new NotCanonicalJson(path, `${typeof value} is not JSON`);
  }
}

function encodeArray(value: readonly unknown[], path: string, depth: number): string {
  if (Object.getPrototypeOf(value) !== Array.prototype) throw new NotCanonicalJson(path, "not a plain array");
  const parts: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const at = `${path}[${i}]`;
    if (!Object.hasOwn(value, i) || value[i] === undefined) throw new NotCanonicalJson(at, "undefined inside an array");
    parts.push(encode(value[i], at, depth + 1));
  }
  return `[${parts.join(",")}]`;
}

function encodeObject(value: object, path: string, depth: number): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new NotCanonicalJson(path, "not a plain object");
  if (Object.getOwnPropertySymbols(value).length > 0) throw new NotCanonicalJson(path, "symbol-keyed property");
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort(byCodeUnit)) {
    const member = record[key];
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${encode(member, memberPath(path, key), depth + 1)}`);
  }
  return `{${parts.join(",")}}`;
}

/** `$.name` for identifier-like keys, `$["odd key"]` otherwise. */
export function memberPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

// `<` on strings compares UTF-16 code units, which is the order we promise.
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
