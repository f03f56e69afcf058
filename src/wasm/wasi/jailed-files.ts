// Read-only access to one granted directory through the jail, for serving it as MCP resources:
// list its regular files, read one, stat one. Every path is parsed like a guest's (an absolute
// path or any '..' is refused) and resolved by the jail one component at a time with
// O_NOFOLLOW: a symlink anywhere is refused when read and never listed; devices, FIFOs and
// sockets are neither. Runs inside the session's sandboxed cell (or, in the development-only
// in-process mode, in the control plane); the control plane never opens a grant path itself.
import fs from "node:fs";
import { Errno } from "./constants.js";
import { parseGuestPath } from "./guest-path.js";
import { Jail } from "./jail.js";
import { errCode, fdPath } from "./procfs.js";
import { Refusal } from "./refusal.js";
import type { EnforcerName } from "../../enforcers.js";

export interface JailedEntry {
  /** Path under the root, '/'-separated. */
  readonly path: string;
  readonly kind: "file" | "dir";
  readonly size: number;
  readonly mtimeMs: number;
}

export type JailedResult<T> =
  | { readonly ok: true; readonly value: T }
  /** `denied`: the jail refused (its code, e.g. ERR_WASI_SYMLINK); otherwise the path is absent or not a file. */
  | { readonly ok: false; readonly denied: boolean; readonly code: string };

export interface JailedStat {
  readonly size: number;
  readonly mtimeMs: number;
  /** Changes when the file is replaced. */
  readonly ino: string;
}

/** Most entries a listing returns, and most directory entries it looks at. */
export const MAX_LISTED = 1000;
const MAX_SCANNED = 10_000;
const MAX_DEPTH = 8;

const READ = { create: false, exclusive: false, truncate: false, directory: false, append: false, read: true, write: false } as const;
const READ_DIR = { ...READ, directory: true } as const;

function refused<T>(e: unknown): JailedResult<T> {
  if (e instanceof Refusal) {
    if (e.denial !== null) return { ok: false, denied: true, code: e.denial.code };
    return { ok: false, denied: false, code: e.errno === Errno.NOENT ? "ENOENT" : `WASI_ERRNO_${e.errno}` };
  }
  const code = errCode(e);
  if (code !== undefined) return { ok: false, denied: false, code };
  throw e;
}

export class JailedFiles {
  constructor(
    /** The directory as this process sees it (in a cell: its bind). */
    private readonly hostPath: string,
    private readonly mount: string,
    private readonly enforcer: EnforcerName,
  ) {}

  private with<T>(body: (jail: Jail) => T): JailedResult<T> {
    let jail: Jail;
    try {
      jail = Jail.open({ guestPath: this.mount, hostPath: this.hostPath, writable: false, enforcer: this.enforcer });
    } catch (e) {
      return { ok: false, denied: false, code: errCode(e) ?? "ERR_RESOURCE_ROOT_UNAVAILABLE" };
    }
    try {
      return { ok: true, value: body(jail) };
    } catch (e) {
      return refused<T>(e);
    } finally {
      jail.close();
    }
  }

  /**
   * The regular files under `dir` (a path under the root, "" for the root), up to `depth` levels
   * below it; with `dirs`, directories too. Symlinks and special files are skipped, unlisted.
   */
  list(dir: string, depth: number, dirs: boolean): JailedResult<JailedEntry[]> {
    return this.with((jail) => {
      const out: JailedEntry[] = [];
      let scanned = 0;
      const walk = (rel: string, level: number): void => {
        const gp = parseGuestPath(Buffer.from(rel === "" ? "." : rel), this.enforcer);
        const opened = jail.open(jail.rootFd, gp, READ_DIR);
        let names: fs.Dirent[];
        try {
          names = fs.readdirSync(fdPath(opened.hostFd), { withFileTypes: true });
        } finally {
          fs.closeSync(opened.hostFd);
        }
        names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const d of names) {
          if (out.length >= MAX_LISTED || ++scanned > MAX_SCANNED) return;
          if (d.name.includes("/") || d.name === "." || d.name === "..") continue;
          const path = rel === "" ? d.name : `${rel}/${d.name}`;
          // The kind the directory reports is only a hint: the jail's own lstat decides.
          if (!d.isFile() && !d.isDirectory()) continue;
          let st: fs.BigIntStats;
          try {
            st = jail.stat(jail.rootFd, parseGuestPath(Buffer.from(path), this.enforcer), false);
          } catch {
            continue;
          }
          const entry = { path, size: Number(st.size), mtimeMs: Number(st.mtimeMs) };
          if (st.isFile()) out.push({ ...entry, kind: "file" });
          else if (st.isDirectory()) {
            if (dirs) out.push({ ...entry, kind: "dir" });
            if (level < Math.min(depth, MAX_DEPTH)) walk(path, level + 1);
          }
        }
      };
      walk(dir, 0);
      return out;
    });
  }

  /** A regular file's bytes, at most `maxBytes` (more: the code ERR_LIMIT_EXCEEDED). */
  read(path: string, maxBytes: number): JailedResult<{ bytes: Uint8Array; mtimeMs: number }> {
    return this.with((jail) => {
      const opened = jail.open(jail.rootFd, parseGuestPath(Buffer.from(path), this.enforcer), READ);
      try {
        if (opened.isDirectory) throw new Refusal(Errno.ISDIR, null);
        const st = fs.fstatSync(opened.hostFd);
        if (st.size > maxBytes) throw Object.assign(new Error("too large"), { code: "ERR_LIMIT_EXCEEDED" });
        const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
        let n = 0;
        for (let r = 1; r > 0 && n < buf.length; n += r) r = fs.readSync(opened.hostFd, buf, n, buf.length - n, n);
        if (n > maxBytes) throw Object.assign(new Error("too large"), { code: "ERR_LIMIT_EXCEEDED" });
        return { bytes: new Uint8Array(buf.subarray(0, n)), mtimeMs: st.mtimeMs };
      } finally {
        fs.closeSync(opened.hostFd);
      }
    });
  }

  /** A regular file's size, mtime and inode, for change notifications. */
  stat(path: string): JailedResult<JailedStat> {
    return this.with((jail) => {
      const st = jail.stat(jail.rootFd, parseGuestPath(Buffer.from(path), this.enforcer), false);
      if (st.isSymbolicLink()) throw new Refusal(Errno.LOOP, { enforcer: this.enforcer, code: "ERR_WASI_SYMLINK" });
      if (!st.isFile()) throw new Refusal(Errno.NOENT, null);
      return { size: Number(st.size), mtimeMs: Number(st.mtimeMs), ino: st.ino.toString() };
    });
  }
}
