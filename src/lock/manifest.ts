// The runtime lock: what cordon's trusted computing base consists of, as sha256 digests.
// Plain data; its bytes are canonical JSON (sorted keys, no whitespace), so the same runtime
// always yields the same manifest and signature input.
import { z } from "zod";
import { canonicalJson } from "../audit/canonical-json.js";
import { SignatureInvalid } from "../crypto/errors.js";

export const LOCK_PAYLOAD_TYPE = "application/vnd.cordon.runtime-lock+json";
export const LOCK_VERSION = 1;

/** `sha256:<hex>` for a regular file, `symlink:<target>` for a symbolic link. */
export type FileDigest = string;

/**
 * One locked component. `base` says how its paths read: `package` paths are relative to the
 * package root (posix separators), so the lock survives moving the installation; `host` paths
 * are absolute and resolved (realpath).
 */
export interface LockedComponent {
  /** `node`, `cordon:dist`, `npm:zod@4.6.7`, `sandbox:bwrap`, ... Unique within a manifest. */
  readonly name: string;
  readonly base: "package" | "host";
  /** The folder(s) or file(s) the component occupies; empty when absent. */
  readonly paths: readonly string[];
  /** Every file of the component: path (same base as `paths`) → digest. */
  readonly files: Readonly<Record<string, FileDigest>>;
  /** npm: the lockfile's integrity (names the tarball; `files` names what is on disk). */
  readonly integrity?: string;
  /** The component was looked for and is not on this host (e.g. runsc). Never silently skipped. */
  readonly absent?: true;
}

export interface RuntimeLock {
  readonly version: typeof LOCK_VERSION;
  /** `${process.platform}-${process.arch}` at lock time. */
  readonly platform: string;
  /** Sorted by name. */
  readonly components: readonly LockedComponent[];
}

const DIGEST = /^(?:sha256:[0-9a-f]{64}|symlink:[^\0]{0,4096}|special:[a-z-]{1,32})$/;

const componentSchema = z
  .object({
    name: z.string().min(1).max(512),
    base: z.enum(["package", "host"]),
    paths: z.array(z.string().min(1).max(4096)).max(16),
    // Thousands of entries: checked by one loop in parseLock, not per-entry schema calls.
    files: z.record(z.string(), z.string()),
    integrity: z.string().max(1024).optional(),
    absent: z.literal(true).optional(),
  })
  .strict();

const lockSchema = z
  .object({
    version: z.literal(LOCK_VERSION),
    platform: z.string().max(64),
    components: z.array(componentSchema).max(100_000),
  })
  .strict();

/** The manifest's bytes: canonical JSON, components sorted by name. */
export function encodeLock(lock: RuntimeLock): Buffer {
  const components = [...lock.components].sort((a, b) => byName(a.name, b.name));
  return Buffer.from(canonicalJson({ ...lock, components }), "utf8");
}

/** Parses verified payload bytes. A shape error is a SignatureInvalid-grade refusal: trust nothing. */
export function parseLock(payload: Buffer): RuntimeLock {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new SignatureInvalid("runtime lock", "payload is not JSON");
  }
  const parsed = lockSchema.safeParse(value);
  if (!parsed.success) throw new SignatureInvalid("runtime lock", "payload is not a runtime lock");
  const names = new Set<string>();
  for (const c of parsed.data.components) {
    if (names.has(c.name)) throw new SignatureInvalid("runtime lock", "a component is listed twice");
    names.add(c.name);
    for (const [path, digest] of Object.entries(c.files)) {
      if (path.length === 0 || path.length > 4096 || !DIGEST.test(digest)) throw new SignatureInvalid("runtime lock", "a file entry is malformed");
    }
  }
  return parsed.data as RuntimeLock;
}

export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
