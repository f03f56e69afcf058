// Size-capped, noexec places for tools to write: a tmpfs the control plane mounts on the host
// (`size=` and `nr_inodes=` are the kernel's own quota; its pages are charged to the memory
// cgroup of whoever writes them), and the check that a writable grant is a filesystem the
// kernel caps the same way. Mounting needs root; without it the tier refuses, never degrades.
import { spawnSync } from "node:child_process";
import { readFileSync, statfsSync } from "node:fs";
import { TierUnavailable } from "../errors.js";

export interface TmpfsOptions {
  readonly sizeBytes: number;
  /** Files and directories it may hold. */
  readonly inodes: number;
  /** Owner of its root directory (mode 0700). */
  readonly uid: number;
  readonly gid: number;
  /** Leave exec allowed (an `exec` grant); otherwise noexec. Always nosuid and nodev. */
  readonly exec: boolean;
}

const MOUNT = "/usr/bin/mount";
const UMOUNT = "/usr/bin/umount";

/** The mount(8) arguments, as data. */
export function tmpfsArgs(dir: string, o: TmpfsOptions): string[] {
  const flags = ["nosuid", "nodev", o.exec ? "exec" : "noexec"];
  const data = [`size=${o.sizeBytes}`, `nr_inodes=${o.inodes}`, "mode=0700", `uid=${o.uid}`, `gid=${o.gid}`];
  return ["-t", "tmpfs", "-o", [...flags, ...data].join(","), "cordon-ws", dir];
}

/** Mounts a capped tmpfs on `dir` (an existing empty directory). */
export function mountTmpfs(dir: string, o: TmpfsOptions, tier = "process"): void {
  if (process.getuid?.() !== 0) throw new TierUnavailable(tier, "a size-capped, noexec workspace needs root to mount its tmpfs");
  const r = spawnSync(MOUNT, tmpfsArgs(dir, o), { env: {}, shell: false, encoding: "utf8", timeout: 5_000 });
  if (r.error !== undefined || r.status !== 0) throw new TierUnavailable(tier, `could not mount the workspace tmpfs: ${(r.stderr || String(r.error)).trim().slice(0, 200)}`);
}

/** Lazily detaches the tmpfs (nothing of it stays reachable); true when it was mounted. */
export function unmountTmpfs(dir: string): boolean {
  const r = spawnSync(UMOUNT, ["--lazy", dir], { env: {}, shell: false, encoding: "utf8", timeout: 5_000 });
  return r.status === 0;
}

/** How full a mounted filesystem is. */
export function usage(dir: string): { readonly sizeBytes: number; readonly freeBytes: number; readonly freeInodes: number } {
  const s = statfsSync(dir);
  return { sizeBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize, freeInodes: s.ffree };
}

/** The options of the mount that holds `path` (the longest mount point above it), from mountinfo. */
export function mountOptionsOf(path: string, mountinfo: string = readFileSync("/proc/self/mountinfo", "utf8")): readonly string[] {
  let best: { point: string; options: string[] } | null = null;
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    const point = unescapeMount(f[4] ?? "");
    if (point === "" || !(path === point || path.startsWith(point === "/" ? "/" : `${point}/`))) continue;
    // Later lines mount over earlier ones at the same point.
    if (best === null || point.length >= best.point.length) best = { point, options: (f[5] ?? "").split(",") };
  }
  return best?.options ?? [];
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/**
 * Why a writable grant's directory is not capped the way the policy says, or null: it must be
 * a filesystem of its own no larger than `maxBytes` (a tmpfs or a loop-mounted image: the kernel
 * then refuses the write past it), and noexec when the tier runs native code there.
 */
export function writableDirProblem(path: string, opts: { readonly maxBytes: number; readonly noexec: boolean }): { readonly what: "size" | "exec"; readonly reason: string } | null {
  let size: number;
  try {
    size = usage(path).sizeBytes;
  } catch (err) {
    return { what: "size", reason: `cannot statfs it (${(err as NodeJS.ErrnoException).code ?? "error"})` };
  }
  if (size > opts.maxBytes) return { what: "size", reason: `its filesystem holds ${size} bytes, more than limits.disk (${opts.maxBytes}): mount a tmpfs or an image of that size there` };
  if (opts.noexec && !mountOptionsOf(path).includes("noexec")) return { what: "exec", reason: "its filesystem allows exec: mount it noexec (tool processes must not run what they write)" };
  return null;
}
