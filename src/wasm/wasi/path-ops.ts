// path_* operations and fd_readdir: everything that names something inside a preopen.
// Order of checks in each: descriptor, guest path (escape), output pointers, read-only,
// rights, then the jail does the resolution. Every refusal is one Refusal thrown, so one call
// yields at most one denial event.

import fs from "node:fs";
import {
  Bound, DIR_READ_RIGHTS, DIR_WRITE_RIGHTS, Errno, FILE_RIGHTS, FILE_WRITE_RIGHTS, FdFlags, FileType,
  LookupFlags, OFlags, Rights, Size,
} from "./constants.js";
import { fileTypeOfStat, writeFilestat } from "./fd-ops.js";
import type { DirEntry, DirListingEntry, FdEntry } from "./fd-table.js";
import { parseGuestPath } from "./guest-path.js";
import type { GuestPath } from "./guest-path.js";
import { fdPath, lstatAt } from "./procfs.js";
import { deny, fail } from "./refusal.js";
import { dirOf, requireRights } from "./state.js";
import type { HostState } from "./state.js";

const S = Errno.SUCCESS;

function readPath(s: HostState, dir: DirEntry, ptr: number, len: number): GuestPath {
  s.mem.check(ptr, len);
  if (len > Bound.MAX_PATH) return fail(Errno.NAMETOOLONG);
  return parseGuestPath(s.mem.copy(ptr, len), dir.jail.enforcer);
}

export interface PathOpenArgs {
  readonly fd: number;
  readonly dirflags: number;
  readonly pathPtr: number;
  readonly pathLen: number;
  readonly oflags: number;
  readonly rightsBase: bigint;
  readonly rightsInheriting: bigint;
  readonly fdflags: number;
  readonly openedFdPtr: number;
}

export function pathOpen(s: HostState, a: PathOpenArgs): number {
  const dir = dirOf(s, a.fd);
  const gp = readPath(s, dir, a.pathPtr, a.pathLen);
  s.mem.check(a.openedFdPtr, 4);
  const jail = dir.jail;
  const create = (a.oflags & OFlags.CREAT) !== 0;
  const exclusive = (a.oflags & OFlags.EXCL) !== 0;
  const truncate = (a.oflags & OFlags.TRUNC) !== 0;
  const directory = (a.oflags & OFlags.DIRECTORY) !== 0;
  const append = (a.fdflags & FdFlags.APPEND) !== 0;
  if (create || exclusive || truncate || append) jail.assertWritable(gp);
  requireRights(dir, Rights.PATH_OPEN | (create ? Rights.PATH_CREATE_FILE : 0n) | (truncate ? Rights.PATH_FILESTAT_SET_SIZE : 0n));
  if (!s.fds.canOpen()) deny(Errno.MFILE, jail.enforcer, "ERR_WASI_TOO_MANY_FILES", gp.display);
  // Symlinks are never followed, so dirflags (SYMLINK_FOLLOW) cannot widen anything.
  const wanted = a.rightsBase & dir.rightsInheriting;
  const opened = jail.open(dir.hostFd, gp, {
    create, exclusive, truncate, directory, append,
    read: (wanted & (Rights.FD_READ | Rights.FD_READDIR)) !== 0n,
    write: (wanted & FILE_WRITE_RIGHTS) !== 0n,
  });
  const rightsInheriting = a.rightsInheriting & dir.rightsInheriting;
  const entry: FdEntry = opened.isDirectory
    ? {
        kind: "dir", hostFd: opened.hostFd, jail, preopen: false, listing: null, fdflags: 0,
        rightsBase: wanted & (jail.writable ? DIR_WRITE_RIGHTS : DIR_READ_RIGHTS), rightsInheriting,
      }
    : {
        kind: "file", hostFd: opened.hostFd, jail, position: 0,
        fdflags: a.fdflags & (FdFlags.APPEND | FdFlags.NONBLOCK),
        rightsBase: wanted & FILE_RIGHTS & (jail.writable ? FILE_RIGHTS : ~FILE_WRITE_RIGHTS),
        rightsInheriting: 0n,
      };
  s.mem.setU32(a.openedFdPtr, s.fds.add(entry));
  return S;
}

export function pathFilestatGet(s: HostState, fd: number, flags: number, pathPtr: number, pathLen: number, bufPtr: number): number {
  const dir = dirOf(s, fd);
  const gp = readPath(s, dir, pathPtr, pathLen);
  s.mem.check(bufPtr, Size.FILESTAT);
  requireRights(dir, Rights.PATH_FILESTAT_GET);
  const st = dir.jail.stat(dir.hostFd, gp, (flags & LookupFlags.SYMLINK_FOLLOW) !== 0);
  writeFilestat(s.mem, bufPtr, st, fileTypeOfStat(st));
  return S;
}

type Mutation = "mkdir" | "unlink" | "rmdir";
const MUTATION_RIGHT: Readonly<Record<Mutation, bigint>> = {
  mkdir: Rights.PATH_CREATE_DIRECTORY,
  unlink: Rights.PATH_UNLINK_FILE,
  rmdir: Rights.PATH_REMOVE_DIRECTORY,
};

/** path_create_directory, path_unlink_file, path_remove_directory. */
export function pathMutate(s: HostState, what: Mutation, fd: number, pathPtr: number, pathLen: number): number {
  const dir = dirOf(s, fd);
  const gp = readPath(s, dir, pathPtr, pathLen);
  dir.jail.assertWritable(gp);
  requireRights(dir, MUTATION_RIGHT[what]);
  switch (what) {
    case "mkdir":
      dir.jail.mkdir(dir.hostFd, gp);
      break;
    case "unlink":
      dir.jail.unlink(dir.hostFd, gp);
      break;
    case "rmdir":
      dir.jail.rmdir(dir.hostFd, gp);
      break;
  }
  return S;
}

export function pathRename(
  s: HostState, fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number,
): number {
  const src = dirOf(s, fd);
  const dst = dirOf(s, newFd);
  const from = readPath(s, src, oldPtr, oldLen);
  const to = readPath(s, dst, newPtr, newLen);
  if (src.jail !== dst.jail) deny(Errno.XDEV, src.jail.enforcer, "ERR_WASI_NOT_CAPABLE", to.display);
  src.jail.assertWritable(from);
  requireRights(src, Rights.PATH_RENAME_SOURCE);
  requireRights(dst, Rights.PATH_RENAME_TARGET);
  src.jail.rename(src.hostFd, from, dst.hostFd, to);
  return S;
}

function listDirectory(hostFd: number): DirListingEntry[] {
  const self = fs.fstatSync(hostFd, { bigint: true });
  const out: DirListingEntry[] = [
    { name: Buffer.from("."), type: FileType.DIRECTORY, ino: self.ino },
    // d_ino 0 for "..": a preopen's parent is outside the jail; wasi-libc accepts 0 here.
    { name: Buffer.from(".."), type: FileType.DIRECTORY, ino: 0n },
  ];
  for (const name of fs.readdirSync(fdPath(hostFd), { encoding: "buffer" })) {
    const st = lstatAt(hostFd, name);
    out.push({ name, type: st === null ? FileType.UNKNOWN : fileTypeOfStat(st), ino: st?.ino ?? 0n });
  }
  return out;
}

/**
 * fd_readdir: dirents (d_next u64, d_ino u64, d_namlen u32, d_type u8, pad, name) from `cookie`
 * on; the last one is cut off at buf_len, which is how the guest learns to ask again.
 */
export function fdReaddir(s: HostState, fd: number, bufPtr: number, bufLen: number, cookie: bigint, bufusedPtr: number): number {
  const dir = dirOf(s, fd);
  s.mem.check(bufPtr, bufLen);
  s.mem.check(bufusedPtr, 4);
  requireRights(dir, Rights.FD_READDIR);
  if (cookie === 0n || dir.listing === null) dir.listing = listDirectory(dir.hostFd);
  const listing = dir.listing;
  let used = 0;
  const start = cookie > BigInt(listing.length) ? listing.length : Number(cookie);
  for (let i = start; i < listing.length && used < bufLen; i++) {
    const e = listing[i];
    if (e === undefined) break;
    const rec = new Uint8Array(Size.DIRENT + e.name.length);
    const view = new DataView(rec.buffer);
    view.setBigUint64(0, BigInt(i + 1), true);
    view.setBigUint64(8, e.ino, true);
    view.setUint32(16, e.name.length, true);
    view.setUint8(20, e.type);
    rec.set(e.name, Size.DIRENT);
    const take = Math.min(rec.length, bufLen - used);
    s.mem.write(bufPtr + used, rec.subarray(0, take));
    used += take;
  }
  s.mem.setU32(bufusedPtr, used);
  return S;
}
