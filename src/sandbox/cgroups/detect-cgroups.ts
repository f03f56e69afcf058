// Which cgroup controllers cordon can drive on this host, read from the mount table.
// v1 is implemented fully. A controller offered only by the unified (v2) hierarchy is reported
// as unsupported ("v2-not-implemented"): this host has no v2 controllers to test against, and
// cordon never pretends a limit is in force.
import { accessSync, constants } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { errnoOf, readText } from "./cgroup-files.js";
import { CONTROLLERS } from "./types.js";
import type { CgroupSupport, ControllerName, ControllerSupport } from "./types.js";

export interface DetectOptions {
  /** The mount table to read; default /proc/self/mounts. */
  readonly mountsPath?: string;
}

interface MountEntry {
  readonly mountpoint: string;
  readonly fstype: string;
  readonly options: readonly string[];
}

export function detectCgroups(root = "/sys/fs/cgroup", opts: DetectOptions = {}): CgroupSupport {
  const base = resolve(root);
  const mountsPath = opts.mountsPath ?? "/proc/self/mounts";
  let text: string | null;
  try {
    text = readText(mountsPath);
  } catch {
    text = null;
  }
  if (text === null) {
    const none: ControllerSupport = {
      available: false, version: null, reason: "mounts-unreadable", detail: `cannot read ${mountsPath}`,
    };
    return { root: base, controllers: { memory: none, pids: none, cpu: none } };
  }
  const mounts = parseMounts(text).filter((m) => isWithin(base, m.mountpoint));
  const controllers = Object.fromEntries(
    CONTROLLERS.map((c) => [c, detectController(c, mounts)]),
  ) as Record<ControllerName, ControllerSupport>;
  return { root: base, controllers };
}

function detectController(controller: ControllerName, mounts: readonly MountEntry[]): ControllerSupport {
  const v1 = mounts.filter((m) => m.fstype === "cgroup" && m.options.includes(controller));
  let refusal: ControllerSupport | null = null;
  for (const m of v1) {
    if (m.options.includes("ro")) {
      refusal ??= { available: false, version: "v1", reason: "read-only", detail: `${m.mountpoint} is mounted read-only` };
      continue;
    }
    const denied = firstDenied([m.mountpoint, join(m.mountpoint, "cgroup.procs")]);
    if (denied !== null) {
      refusal ??= { available: false, version: "v1", reason: "not-writable", detail: denied };
      continue;
    }
    return { available: true, version: "v1", path: m.mountpoint };
  }
  if (refusal !== null) return refusal;
  for (const m of mounts.filter((e) => e.fstype === "cgroup2")) {
    const offered = (readText(join(m.mountpoint, "cgroup.controllers")) ?? "").split(/\s+/);
    if (offered.includes(controller)) {
      return {
        available: false, version: "v2", reason: "v2-not-implemented",
        detail: `only the unified hierarchy at ${m.mountpoint} offers ${controller}; cordon drives cgroup v1 only`,
      };
    }
  }
  return { available: false, version: null, reason: "not-mounted", detail: `no cgroup hierarchy offers ${controller}` };
}

/** The first path this process may not write, described; null if all are writable. */
function firstDenied(paths: readonly string[]): string | null {
  for (const path of paths) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      return `${path}: ${errnoOf(err)}`;
    }
  }
  return null;
}

function isWithin(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** /proc/self/mounts lines: device mountpoint fstype options dump pass (octal-escaped spaces). */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const [, mountpoint, fstype, options] = line.split(" ");
    if (mountpoint === undefined || fstype === undefined || options === undefined) continue;
    out.push({ mountpoint: unescapeMount(mountpoint), fstype, options: options.split(",") });
  }
  return out;
}

function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
