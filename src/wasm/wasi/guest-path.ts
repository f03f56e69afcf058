// Parsing a guest-supplied path into components. Pure: no I/O, no normalisation.
//
// The rules are deliberately blunt. An absolute path or ANY `..` component is refused outright
// (ENOTCAPABLE, ERR_WASI_PATH_ESCAPE) — even `sub/../file`, which would stay inside: resolving
// `..` correctly needs the very path arithmetic that jail escapes exploit, and no legitimate
// tool needs it. Paths stay bytes end to end (no UTF-8 round trip can alter a component).

import { Bound, Errno } from "./constants.js";
import { deny, fail } from "./refusal.js";
import type { EnforcerName } from "../../enforcers.js";

export interface GuestPath {
  /** Components to walk: each non-empty, never `.` or `..`, never containing `/` or NUL. */
  readonly components: readonly Buffer[];
  /** The path ended in `/` or `/.`, so the target must be a directory. */
  readonly mustBeDir: boolean;
  /** The guest's path as text for denial events, at most DENIAL_PATH_CHARS characters. */
  readonly display: string;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const NUL = 0x00;

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Guest path text for a denial event (lossy decoding, truncated). */
export function displayPath(bytes: Uint8Array): string {
  const head = bytes.subarray(0, Bound.DENIAL_PATH_CHARS * 4);
  return [...decoder.decode(head)].slice(0, Bound.DENIAL_PATH_CHARS).join("");
}

function isDot(c: Uint8Array): boolean {
  return c.length === 1 && c[0] === DOT;
}

function isDotDot(c: Uint8Array): boolean {
  return c.length === 2 && c[0] === DOT && c[1] === DOT;
}

/**
 * Splits `bytes` into walkable components, or throws a Refusal: ENOENT for an empty path,
 * ENAMETOOLONG past PATH_MAX, EINVAL for an embedded NUL, and a denial (ENOTCAPABLE,
 * ERR_WASI_PATH_ESCAPE, attributed to `enforcer`) for an absolute path or any `..`.
 */
export function parseGuestPath(bytes: Uint8Array, enforcer: EnforcerName): GuestPath {
  const display = displayPath(bytes);
  if (bytes.length === 0) fail(Errno.NOENT);
  if (bytes.length > Bound.MAX_PATH) fail(Errno.NAMETOOLONG);
  if (bytes.includes(NUL)) fail(Errno.INVAL);
  if (bytes[0] === SLASH) deny(Errno.NOTCAPABLE, enforcer, "ERR_WASI_PATH_ESCAPE", display);

  const raw: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === SLASH) {
      raw.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (raw.some(isDotDot)) deny(Errno.NOTCAPABLE, enforcer, "ERR_WASI_PATH_ESCAPE", display);

  const last = raw[raw.length - 1];
  const mustBeDir = raw.length > 1 && last !== undefined && (last.length === 0 || isDot(last));
  const components = raw.filter((c) => c.length > 0 && !isDot(c)).map((c) => Buffer.from(c));
  return { components, mustBeDir, display };
}
