// Reading and writing cgroup control files. Internal to this folder.
import { closeSync, constants, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CgroupWriteFailed } from "./cgroup-errors.js";

export function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "EUNKNOWN";
}

/** The file's text, or null if it does not exist (controller absent, cgroup removed). */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (errnoOf(err) === "ENOENT" || errnoOf(err) === "ENODEV") return null;
    throw err;
  }
}

/** A single-number control file; "max" (v1 pids.max, unlimited) reads as Infinity. */
export function readNumber(path: string): number | null {
  const text = readText(path);
  if (text === null) return null;
  const word = text.trim();
  if (word === "max") return Number.POSITIVE_INFINITY;
  const value = Number(word);
  return word !== "" && Number.isFinite(value) ? value : null;
}

/** A "key value" per line file (pids.events, memory.oom_control, memory.stat). */
export function readKeyed(path: string): Map<string, number> | null {
  const text = readText(path);
  if (text === null) return null;
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/** cgroup.procs as a list of pids; empty if the cgroup is gone. */
export function readPids(path: string): number[] {
  const text = readText(path);
  if (text === null) return [];
  const out: number[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === "") continue;
    const pid = Number(word);
    if (Number.isSafeInteger(pid) && pid > 0) out.push(pid);
  }
  return out;
}

/**
 * Write one value in one write(2), to an existing file only: no O_CREAT, so a control file the
 * kernel did not provide is an error (ENOENT), never a regular file that pretends to be a limit.
 */
export function writeValue(path: string, value: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (err) {
    throw new CgroupWriteFailed(path, errnoOf(err));
  }
  try {
    writeSync(fd, value);
  } catch (err) {
    throw new CgroupWriteFailed(path, errnoOf(err));
  } finally {
    closeSync(fd);
  }
}

/** `dir` and every cgroup below it, deepest first (the order rmdir needs). Missing dir: []. */
export function cgroupTree(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return [];
    throw err;
  }
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory()) out.push(...cgroupTree(join(dir, entry.name)));
  }
  out.push(dir);
  return out;
}
