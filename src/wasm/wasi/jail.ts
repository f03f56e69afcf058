// The filesystem jail: openat(2)-style resolution for Node, which has no openat.
//
// Every lookup goes through procfs magic links. `/proc/self/fd/<D>/<name>` makes the kernel
// resolve <name> inside the directory that fd D refers to — the inode, not a path string, so
// a directory renamed or swapped after we opened it cannot redirect us. A guest path `a/b/c`
// is walked one component at a time, each step relative to the fd of the previous one.
//
// Rules, all fail-closed:
// - Absolute paths and `..` never get here (see guest-path.ts).
// - Symlinks are NEVER followed, not even ones that point inside the jail: every component is
//   opened with O_PATH|O_NOFOLLOW and fstat'ed; a symlink anywhere is ELOOP + ERR_WASI_SYMLINK.
//   (O_PATH rather than O_DIRECTORY|O_NOFOLLOW because the latter reports a symlink as
//   ENOTDIR, and telling the two apart afterwards with lstat would be racy.)
// - Before anything is created or opened in a directory, and again for the object itself,
//   readlink(/proc/self/fd/N) must be the jail root or below it, else ERR_WASI_PATH_ESCAPE.
// - Only regular files and directories are ever opened for I/O. The final component is first
//   opened with O_PATH (which never blocks and has no side effects, even on a FIFO or a
//   device), checked, and only then re-opened through its own magic link with the real flags,
//   so O_TRUNC can only ever hit a checked, inside, regular file.
// - Files in a read-only preopen are opened O_RDONLY on the host, so even a bug cannot write.
//
// What this does not cover (by design, documented for the reviewer):
// - Checks happen when a name is resolved. A descriptor already open keeps working even if a
//   host process later moves its directory out of the jail (the next path lookup through it
//   is refused, though: its parent check fails).
// - A host process (not the guest) that moves a directory out of the jail between our check
//   and our use can still win that race. The guest itself can only rename inside one
//   preopen and can create no links, so it cannot stage this.
// - Hard links and bind mounts planted inside the jail by the host are trusted as content.

import fs from "node:fs";
import type { BigIntStats } from "node:fs";
import path from "node:path";
import { PreopenUnavailable, TierUnavailable } from "../../errors.js";
import { Errno } from "./constants.js";
import type { GuestPath } from "./guest-path.js";
import { O_PATH, PROC_FD, errCode, fdPath } from "./procfs.js";
import { deny, fail } from "./refusal.js";
import type { Preopen } from "./types.js";
import type { EnforcerName } from "../../enforcers.js";

const C = fs.constants;
const SLASH = 0x2f;
const MAX_CREATE_ATTEMPTS = 4;

export interface OpenRequest {
  readonly create: boolean;
  readonly exclusive: boolean;
  readonly truncate: boolean;
  readonly directory: boolean;
  readonly append: boolean;
  /** Open for reading on the host. */
  readonly read: boolean;
  /** Open for writing on the host (any of FILE_WRITE_RIGHTS was requested). */
  readonly write: boolean;
}

export interface Opened {
  readonly hostFd: number;
  readonly isDirectory: boolean;
}

interface Walked {
  readonly parent: number;
  readonly owned: boolean;
  /** The last component, or null when the path names the starting directory itself. */
  readonly name: Buffer | null;
}

/** Fails closed unless procfs magic links and O_PATH behave as this module relies on. */
export function assertJailSupported(): void {
  if (process.platform !== "linux") throw new TierUnavailable("wasm", "the WASI jail needs Linux procfs");
  let ok = false;
  try {
    ok = fs.statSync(PROC_FD).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new TierUnavailable("wasm", "/proc/self/fd is not available");
}

export class Jail {
  readonly guestPath: string;
  readonly writable: boolean;
  readonly enforcer: EnforcerName;
  #root: Buffer;
  #rootFd: number | null;

  private constructor(p: Preopen, rootFd: number, root: Buffer) {
    this.guestPath = p.guestPath;
    this.writable = p.writable;
    this.enforcer = p.enforcer;
    this.#rootFd = rootFd;
    this.#root = root;
  }

  /** Opens the preopen's root once (O_RDONLY|O_DIRECTORY) and self-checks procfs and O_PATH. */
  static open(p: Preopen): Jail {
    if (!path.isAbsolute(p.hostPath)) throw new PreopenUnavailable(p.guestPath, "host path is not absolute");
    let fd: number;
    try {
      fd = fs.openSync(p.hostPath, C.O_RDONLY | C.O_DIRECTORY);
    } catch (e) {
      throw new PreopenUnavailable(p.guestPath, errCode(e) === "ENOTDIR" ? "not a directory" : (errCode(e) ?? "cannot open"));
    }
    try {
      const root = fs.readlinkSync(fdPath(fd), { encoding: "buffer" });
      if (root[0] !== SLASH || root.toString().endsWith(" (deleted)")) throw new PreopenUnavailable(p.guestPath, "deleted");
      const direct = fs.fstatSync(fd, { bigint: true });
      const viaProc = fs.statSync(fdPath(fd), { bigint: true });
      if (direct.dev !== viaProc.dev || direct.ino !== viaProc.ino) {
        throw new TierUnavailable("wasm", "/proc/self/fd does not describe this process");
      }
      probeOPath(fd);
      return new Jail(p, fd, root);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  get rootFd(): number {
    if (this.#rootFd === null) return fail(Errno.BADF);
    return this.#rootFd;
  }

  /** Closes the root fd. Idempotent. */
  close(): void {
    if (this.#rootFd !== null) fs.closeSync(this.#rootFd);
    this.#rootFd = null;
  }

  /** Whether host fd `fd` currently refers to the jail root or something below it. */
  contains(fd: number): boolean {
    let p: Buffer;
    try {
      p = fs.readlinkSync(fdPath(fd), { encoding: "buffer" });
    } catch {
      return false;
    }
    const root = this.#root;
    if (root.length === 1) return p[0] === SLASH;
    return p.subarray(0, root.length).equals(root) && (p.length === root.length || p[root.length] === SLASH);
  }

  #assertInside(fd: number, gp: GuestPath): void {
    if (!this.contains(fd)) deny(Errno.NOTCAPABLE, this.enforcer, "ERR_WASI_PATH_ESCAPE", gp.display);
  }

  /** Refuses (ERR_WASI_READ_ONLY) unless this preopen is writable. */
  assertWritable(gp: GuestPath): void {
    if (!this.writable) deny(Errno.NOTCAPABLE, this.enforcer, "ERR_WASI_READ_ONLY", gp.display);
  }

  /** Refuses a symlink or a non-regular, non-directory object; returns whether it is a directory. */
  #assertOpenable(st: BigIntStats, gp: GuestPath): boolean {
    if (st.isSymbolicLink()) deny(Errno.LOOP, this.enforcer, "ERR_WASI_SYMLINK", gp.display);
    if (st.isDirectory()) return true;
    if (st.isFile()) return false;
    return deny(Errno.ACCES, this.enforcer, "ERR_WASI_FILE_TYPE", gp.display);
  }

  /** Walks all but the last component from `dirFd`; the parent is checked to be inside. */
  #walk(dirFd: number, gp: GuestPath): Walked {
    const comps = gp.components;
    let cur = dirFd;
    let owned = false;
    try {
      for (const comp of comps.slice(0, -1)) {
        const next = fs.openSync(fdPath(cur, comp), O_PATH | C.O_NOFOLLOW);
        if (owned) fs.closeSync(cur);
        cur = next;
        owned = true;
        const st = fs.fstatSync(cur, { bigint: true });
        if (st.isSymbolicLink()) deny(Errno.LOOP, this.enforcer, "ERR_WASI_SYMLINK", gp.display);
        if (!st.isDirectory()) fail(Errno.NOTDIR);
      }
      this.#assertInside(cur, gp);
      return { parent: cur, owned, name: comps[comps.length - 1] ?? null };
    } catch (e) {
      if (owned) fs.closeSync(cur);
      throw e;
    }
  }

  #release(w: Walked): void {
    if (w.owned) fs.closeSync(w.parent);
  }

  #with<T>(dirFd: number, gp: GuestPath, body: (w: Walked) => T): T {
    const w = this.#walk(dirFd, gp);
    try {
      return body(w);
    } finally {
      this.#release(w);
    }
  }

  /** path_open: see the module comment for the sequence of checks. */
  open(dirFd: number, gp: GuestPath, req: OpenRequest): Opened {
    if (req.create || req.truncate || req.exclusive || req.append) this.assertWritable(gp);
    if (req.create && (req.directory || gp.mustBeDir)) fail(req.directory ? Errno.INVAL : Errno.ISDIR);
    return this.#with(dirFd, gp, (w) => {
      for (let attempt = 0; attempt < MAX_CREATE_ATTEMPTS; attempt++) {
        if (w.name === null) {
          if (req.create && req.exclusive) fail(Errno.EXIST);
          return this.#reopen(w.parent, fs.fstatSync(w.parent, { bigint: true }), gp, req);
        }
        let pathFd: number;
        try {
          pathFd = fs.openSync(fdPath(w.parent, w.name), O_PATH | C.O_NOFOLLOW);
        } catch (e) {
          if (errCode(e) !== "ENOENT" || !req.create) throw e;
          const created = this.#createExclusive(w.parent, w.name, gp, req);
          if (created !== null) return created;
          continue; // lost a race with a concurrent creator; look again
        }
        try {
          if (req.create && req.exclusive) fail(Errno.EXIST);
          return this.#reopen(pathFd, fs.fstatSync(pathFd, { bigint: true }), gp, req);
        } finally {
          fs.closeSync(pathFd);
        }
      }
      return fail(Errno.AGAIN);
    });
  }

  /** Re-opens a checked O_PATH fd (or the walked directory) through its magic link. */
  #reopen(pathFd: number, st: BigIntStats, gp: GuestPath, req: OpenRequest): Opened {
    const isDirectory = this.#assertOpenable(st, gp);
    this.#assertInside(pathFd, gp);
    if (isDirectory) {
      if (req.truncate || req.write) fail(Errno.ISDIR);
      return { hostFd: fs.openSync(fdPath(pathFd), C.O_RDONLY | C.O_DIRECTORY), isDirectory };
    }
    if (req.directory || gp.mustBeDir) fail(Errno.NOTDIR);
    if (req.write) this.assertWritable(gp);
    const flags = accessMode(req, this.writable) | (req.truncate ? C.O_TRUNC : 0) | C.O_NOCTTY | C.O_NONBLOCK;
    return { hostFd: fs.openSync(fdPath(pathFd), flags), isDirectory };
  }

  /** O_CREAT|O_EXCL in the verified parent; null if someone else created the name first. */
  #createExclusive(parent: number, name: Buffer, gp: GuestPath, req: OpenRequest): Opened | null {
    const flags = C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NOCTTY | C.O_NONBLOCK | accessMode(req, this.writable);
    let fd: number;
    try {
      fd = fs.openSync(fdPath(parent, name), flags, 0o644);
    } catch (e) {
      if (errCode(e) === "EEXIST" && !req.exclusive) return null;
      throw e;
    }
    try {
      this.#assertOpenable(fs.fstatSync(fd, { bigint: true }), gp);
      this.#assertInside(fd, gp);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return { hostFd: fd, isDirectory: false };
  }

  /** path_filestat_get. Without SYMLINK_FOLLOW a symlink's own metadata is returned. */
  stat(dirFd: number, gp: GuestPath, follow: boolean): BigIntStats {
    return this.#with(dirFd, gp, (w) => {
      const st = w.name === null
        ? fs.fstatSync(w.parent, { bigint: true })
        : fs.lstatSync(fdPath(w.parent, w.name), { bigint: true });
      if (st.isSymbolicLink() && follow) deny(Errno.LOOP, this.enforcer, "ERR_WASI_SYMLINK", gp.display);
      if (gp.mustBeDir && !st.isDirectory()) fail(Errno.NOTDIR);
      return st;
    });
  }

  mkdir(dirFd: number, gp: GuestPath): void {
    this.assertWritable(gp);
    this.#with(dirFd, gp, (w) => {
      if (w.name === null) fail(Errno.EXIST);
      fs.mkdirSync(fdPath(w.parent, w.name), 0o755);
    });
  }

  unlink(dirFd: number, gp: GuestPath): void {
    this.assertWritable(gp);
    this.#with(dirFd, gp, (w) => {
      if (w.name === null) fail(Errno.ISDIR);
      if (gp.mustBeDir) {
        fail(fs.lstatSync(fdPath(w.parent, w.name)).isDirectory() ? Errno.ISDIR : Errno.NOTDIR);
      }
      fs.unlinkSync(fdPath(w.parent, w.name));
    });
  }

  rmdir(dirFd: number, gp: GuestPath): void {
    this.assertWritable(gp);
    this.#with(dirFd, gp, (w) => {
      if (w.name === null) fail(Errno.INVAL);
      fs.rmdirSync(fdPath(w.parent, w.name));
    });
  }

  /** Renames within this jail; both parents are walked and checked independently. */
  rename(fromDirFd: number, from: GuestPath, toDirFd: number, to: GuestPath): void {
    this.assertWritable(from);
    this.#with(fromDirFd, from, (src) => {
      this.#with(toDirFd, to, (dst) => {
        if (src.name === null || dst.name === null) fail(Errno.BUSY);
        const srcPath = fdPath(src.parent, src.name);
        if ((from.mustBeDir || to.mustBeDir) && !fs.lstatSync(srcPath).isDirectory()) fail(Errno.NOTDIR);
        fs.renameSync(srcPath, fdPath(dst.parent, dst.name));
      });
    });
  }
}

function accessMode(req: OpenRequest, writable: boolean): number {
  const write = req.write && writable;
  if (write && req.read) return C.O_RDWR;
  if (write) return C.O_WRONLY;
  return C.O_RDONLY;
}

/** read(2) on an O_PATH fd fails with EBADF; if it says EISDIR, O_PATH was ignored. */
function probeOPath(rootFd: number): void {
  const fd = fs.openSync(fdPath(rootFd), O_PATH | C.O_DIRECTORY);
  try {
    fs.readSync(fd, Buffer.alloc(1), 0, 1, 0);
  } catch (e) {
    if (errCode(e) === "EBADF") return;
  } finally {
    fs.closeSync(fd);
  }
  throw new TierUnavailable("wasm", "O_PATH is not supported on this host");
}
