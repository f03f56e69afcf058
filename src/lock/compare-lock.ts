// Pure: compares the signed lock with a fresh measurement, one verdict per component.
import type { LockFault } from "./errors.js";
import { byName, type LockedComponent, type RuntimeLock } from "./manifest.js";
import type { RuntimeMeasurement } from "./measure-runtime.js";

/**
 * - `ok`: exactly as locked (an absent component still absent counts).
 * - `mismatch`: a file changed, appeared or vanished, or the component moved.
 * - `missing`: locked, and now gone entirely.
 * - `extra`: present now, and not locked (a stray package, a binary locked as absent).
 */
export type ComponentStatus = "ok" | "mismatch" | "missing" | "extra";

export interface ComponentCheck {
  readonly name: string;
  readonly status: ComponentStatus;
  /** The first differing file (in sorted order), when a single file is to blame. */
  readonly file: string | null;
  readonly reason: LockFault | null;
  /** One line for an operator: what differs, or how much was checked. */
  readonly detail: string;
}

export function compareLock(locked: RuntimeLock, now: RuntimeMeasurement): ComponentCheck[] {
  const lockedByName = new Map(locked.components.map((c) => [c.name, c]));
  const nowByName = new Map(now.components.map((c) => [c.name, c]));
  const names = [...new Set([...lockedByName.keys(), ...nowByName.keys()])].sort(byName);
  const checks = names.map((name) => compareOne(name, lockedByName.get(name), nowByName.get(name)));
  for (const stray of now.strays) {
    checks.push({ name: `npm:${stray}`, status: "extra", file: stray, reason: "unlocked", detail: "in node_modules but not in package-lock.json" });
  }
  return checks.sort((a, b) => byName(a.name, b.name));
}

function compareOne(name: string, locked: LockedComponent | undefined, now: LockedComponent | undefined): ComponentCheck {
  const at = (c: LockedComponent) => c.paths[c.paths.length - 1] ?? null;
  if (locked === undefined) {
    if (now === undefined || now.absent === true) return { name, status: "ok", file: null, reason: null, detail: "absent; not in the lock" };
    return { name, status: "extra", file: at(now), reason: "unlocked", detail: `present at ${at(now) ?? "?"} but not in the lock` };
  }
  if (now === undefined) {
    return { name, status: "missing", file: at(locked), reason: "missing", detail: "locked, but no longer part of this runtime" };
  }
  if (locked.absent === true && now.absent === true) return { name, status: "ok", file: null, reason: null, detail: "absent, as locked" };
  if (locked.absent === true) return { name, status: "extra", file: at(now), reason: "unlocked", detail: `present at ${at(now) ?? "?"} but locked as absent` };
  if (now.absent === true) return { name, status: "missing", file: at(locked), reason: "missing", detail: `${at(locked) ?? "?"} is gone` };
  if (locked.base !== now.base || locked.paths.join("\0") !== now.paths.join("\0")) {
    return { name, status: "mismatch", file: at(now), reason: "moved", detail: `now ${now.paths.join(" -> ")}, locked ${locked.paths.join(" -> ")}` };
  }
  if (locked.integrity !== now.integrity) {
    return { name, status: "mismatch", file: null, reason: "changed", detail: "package-lock.json integrity differs from the lock" };
  }
  return compareFiles(name, locked.files, now.files);
}

function compareFiles(name: string, locked: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): ComponentCheck {
  const keys = [...new Set([...Object.keys(locked), ...Object.keys(now)])].sort(byName);
  let first: { file: string; reason: LockFault } | null = null;
  let differing = 0;
  for (const key of keys) {
    const l = locked[key];
    const n = now[key];
    if (l === n) continue;
    differing++;
    first ??= { file: key, reason: l === undefined ? "extra" : n === undefined ? "missing" : "changed" };
  }
  if (first === null) return { name, status: "ok", file: null, reason: null, detail: `${keys.length} file(s) as locked` };
  const what = first.reason === "extra" ? "is not in the lock" : first.reason === "missing" ? "is missing" : "has changed";
  return { name, status: "mismatch", file: first.file, reason: first.reason, detail: `${first.file} ${what}${differing > 1 ? ` (+${differing - 1} more)` : ""}` };
}
