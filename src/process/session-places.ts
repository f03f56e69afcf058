// A process-tier session's writable places: /workspace and /tmp, each its own tmpfs on the host
// (size=limits.disk, capped inodes, owned by the session's uid, nosuid, nodev), noexec unless a
// tool of the session has an exec grant for it. Then the tmpfs is mounted exec and a second,
// noexec view of it (a bind mount remounted noexec) is what tools without the grant get: the
// same files, and only the granted tool can run them. Removed with the session.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TierUnavailable } from "../errors.js";
import type { Grant } from "../types/tool.js";

/** What the places depend on: a process or container tool's grants and disk limit. */
export interface PlaceTool {
  readonly grants: readonly Grant[];
  readonly limits: { readonly diskBytes: number };
}
import { mountTmpfs, unmountTmpfs, usage } from "../sandbox/tmpfs.js";

export type PlaceName = "workspace" | "tmp";

/** Where each place appears inside the sandbox. */
export const PLACE_MOUNT: Readonly<Record<PlaceName, "/workspace" | "/tmp">> = { workspace: "/workspace", tmp: "/tmp" };

interface Place {
  /** The tmpfs itself (exec only when some tool is granted exec there). */
  readonly dir: string;
  /** A noexec view of the same files, when `dir` is exec. */
  readonly noexecView: string | null;
}

/** Files and directories a place may hold, from its size (one inode per 16 KiB, 256 to 65536). */
export function inodesFor(sizeBytes: number): number {
  return Math.max(256, Math.min(65_536, Math.floor(sizeBytes / 16_384)));
}

export function execGranted(tool: PlaceTool, place: PlaceName): boolean {
  return tool.grants.some((g) => g.kind === "exec" && g.mount === PLACE_MOUNT[place]);
}

function mountNoexecView(source: string, view: string): void {
  mkdirSync(view, { mode: 0o700 });
  for (const args of [["--bind", source, view], ["-o", "remount,bind,noexec,nosuid,nodev", view]]) {
    const r = spawnSync("/usr/bin/mount", args, { env: {}, shell: false, encoding: "utf8", timeout: 5_000 });
    if (r.error !== undefined || r.status !== 0) throw new TierUnavailable("process", `could not make a noexec view of the workspace: ${(r.stderr || String(r.error)).trim().slice(0, 200)}`);
  }
}

export class SessionPlaces {
  private readonly places = new Map<PlaceName, Place>();

  private constructor(readonly root: string) {}

  /**
   * Mounts both places for a session whose process tools are `tools` (they share them, and so
   * one size: the policy loader makes the tools of a role agree on limits.disk).
   */
  static create(tools: readonly PlaceTool[], uid: number): SessionPlaces {
    const sizeBytes = Math.max(...tools.map((t) => t.limits.diskBytes));
    const root = mkdtempSync(join(tmpdir(), "cordon-ws-"));
    chmodSync(root, 0o711);
    const places = new SessionPlaces(root);
    try {
      for (const name of ["workspace", "tmp"] as const) {
        const dir = join(root, name);
        mkdirSync(dir, { mode: 0o700 });
        const exec = tools.some((t) => execGranted(t, name));
        mountTmpfs(dir, { sizeBytes, inodes: inodesFor(sizeBytes), uid, gid: uid, exec });
        places.places.set(name, { dir, noexecView: null });
        if (exec) {
          const view = join(root, `${name}.noexec`);
          places.places.set(name, { dir, noexecView: view });
          mountNoexecView(dir, view);
        }
      }
      return places;
    } catch (err) {
      places.remove();
      throw err;
    }
  }

  /** The host directory `tool` gets for `place`: the noexec view unless it holds the exec grant. */
  hostDirFor(tool: PlaceTool, place: PlaceName): string {
    const p = this.places.get(place);
    if (p === undefined) throw new Error(`place ${place} was not mounted`);
    return p.noexecView !== null && !execGranted(tool, place) ? p.noexecView : p.dir;
  }

  /** The tmpfs of `place` (what probes and tests look into). */
  dirOf(place: PlaceName): string {
    const p = this.places.get(place);
    if (p === undefined) throw new Error(`place ${place} was not mounted`);
    return p.dir;
  }

  /** Places that are full (no byte or no inode left): the kernel refused a write there. */
  full(): PlaceName[] {
    return [...this.places].flatMap(([name, p]) => {
      try {
        const u = usage(p.dir);
        return u.freeBytes === 0 || u.freeInodes === 0 ? [name] : [];
      } catch {
        return [];
      }
    });
  }

  /** Unmounts everything (lazily: a process still holding a file cannot keep it reachable) and removes the root. */
  remove(): void {
    for (const p of this.places.values()) {
      if (p.noexecView !== null) unmountTmpfs(p.noexecView);
      unmountTmpfs(p.dir);
    }
    this.places.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}
