// Rollback refusal. A small state file (dataDir()/versions.json) remembers the highest version
// accepted per artifact kind ("trust-bundle", "policy"). A validly signed artifact older than
// that is refused; an equal version is accepted; a newer one raises the mark. The file is
// replaced atomically and, like a key, refused if anyone but its owner can write it.
// Deleting it resets the marks: the protection is against replaying old signed artifacts, not
// against whoever controls cordon's data directory.
import { dirname, join } from "node:path";
import { z } from "zod";
import { ArtifactRollback, VersionStateUnusable } from "./errors.js";
import { currentUid, directoryProblem, readCheckedFile } from "../crypto/file-trust.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";

export const VERSIONS_FILE = "versions.json";
export type ArtifactKind = "trust-bundle" | "policy";
export type VersionState = Readonly<Partial<Record<ArtifactKind, number>>>;

const stateSchema = z
  .object({
    "trust-bundle": z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    policy: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

export function versionsPath(dataDir: string): string {
  return join(dataDir, VERSIONS_FILE);
}

/**
 * Decides whether `version` of `kind` may be accepted given `state`. Pure. Returns the state
 * to record (the same object when nothing changes); throws ArtifactRollback for an older one.
 */
export function checkArtifactVersion(state: VersionState, kind: ArtifactKind, version: number): VersionState {
  const highest = state[kind];
  if (highest === undefined || version > highest) return { ...state, [kind]: version };
  if (version < highest) throw new ArtifactRollback(kind, version, highest);
  return state;
}

export function readVersionState(path: string, uid = currentUid()): VersionState {
  const dirProblem = directoryProblem(dirname(path), uid);
  if (dirProblem !== null) throw new VersionStateUnusable(path, dirProblem);
  const read = readCheckedFile(path, "trusted", uid);
  if (!read.ok) {
    if (read.missing) return {};
    throw new VersionStateUnusable(path, read.reason);
  }
  let value: unknown;
  try {
    value = JSON.parse(read.bytes.toString("utf8"));
  } catch {
    throw new VersionStateUnusable(path, "not JSON");
  }
  const parsed = stateSchema.safeParse(value);
  if (!parsed.success) throw new VersionStateUnusable(path, "not a version state object");
  const state: Partial<Record<ArtifactKind, number>> = {};
  for (const [kind, version] of Object.entries(parsed.data)) if (version !== undefined) state[kind as ArtifactKind] = version;
  return state;
}

/**
 * Refuses a rollback of `kind` to `version` and records a newer version. Returns the highest
 * accepted version afterwards.
 */
export function acceptArtifactVersion(path: string, kind: ArtifactKind, version: number, uid = currentUid()): number {
  const state = readVersionState(path, uid);
  const next = checkArtifactVersion(state, kind, version);
  if (next !== state) writeFileAtomic(path, `${JSON.stringify(next)}\n`, 0o600);
  return next[kind] ?? version;
}
