// fd_* operations (fd_readdir lives with the path operations). Each takes the host state and
// already-normalised arguments, returns an errno or throws a Refusal / MemoryFault.
// Guest pointers are checked before any side effect, so a bad pointer never half-applies a call.

import fs from "node:fs";
import type { BigIntStats } from "node:fs";
import {
  Bound, Errno, FdFlags, FileType, PREOPEN_TYPE_DIR, Rights, Size, Whence,
} from "./constants.js";
import type { FdEntry, FileEntry } from "./fd-table.js";
import type { GuestMemory, IoVec } from "./memory.js";
import { deny, fail } from "./refusal.js";
import { asFile, entryOf, requireRights, toPosition } from "./state.js";
import type { HostState } from "./state.js";

const S = Errno.SUCCESS;

export function fdRead(s: HostState, fd: number, iovsPtr: number, iovsLen: number, nreadPtr: number): number {
  const entry = entryOf(s, fd);
  const iovs = s.mem.iovecs(iovsPtr, iovsLen);
  s.mem.check(nreadPtr, 4);
  if (entry.kind === "stdin") {
    requireRights(entry, Rights.FD_READ);
    let total = 0;
    for (const iov of iovs) {
      const chunk = s.stdin.bytes.subarray(s.stdin.position, s.stdin.position + iov.len);
      s.mem.write(iov.ptr, chunk);
      s.stdin.position += chunk.length;
      total += chunk.length;
      if (chunk.length < iov.len) break;
    }
    s.mem.setU32(nreadPtr, total);
    return S;
  }
  const file = asFile(entry, Errno.BADF);
  requireRights(file, Rights.FD_READ);
  const n = readAt(s.mem, file, iovs, file.position);
  file.position += n;
  s.mem.setU32(nreadPtr, n);
  return S;
}

export function fdPread(s: HostState, fd: number, iovsPtr: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
  const file = asFile(entryOf(s, fd), Errno.SPIPE);
  const iovs = s.mem.iovecs(iovsPtr, iovsLen);
  s.mem.check(nreadPtr, 4);
  requireRights(file, Rights.FD_READ | Rights.FD_SEEK);
  s.mem.setU32(nreadPtr, readAt(s.mem, file, iovs, toPosition(offset)));
  return S;
}

function readAt(mem: GuestMemory, file: FileEntry, iovs: readonly IoVec[], start: number): number {
  let pos = start;
  for (const iov of iovs) {
    if (iov.len === 0) continue;
    const want = Math.min(iov.len, Bound.MAX_IO_CHUNK);
    const n = fs.readSync(file.hostFd, mem.view(iov.ptr, want), 0, want, pos);
    pos += n;
    if (n < iov.len) break;
  }
  return pos - start;
}

export function fdWrite(s: HostState, fd: number, iovsPtr: number, iovsLen: number, nwrittenPtr: number): number {
  const entry = entryOf(s, fd);
  const iovs = s.mem.iovecs(iovsPtr, iovsLen);
  s.mem.check(nwrittenPtr, 4);
  if (entry.kind === "stdout" || entry.kind === "stderr") {
    requireRights(entry, Rights.FD_WRITE);
    const sink = entry.kind === "stdout" ? s.stdout : s.stderr;
    s.mem.setU32(nwrittenPtr, sink.append(iovs.map((iov) => s.mem.view(iov.ptr, iov.len))));
    return S;
  }
  const file = asFile(entry, Errno.BADF);
  requireRights(file, Rights.FD_WRITE);
  const start = (file.fdflags & FdFlags.APPEND) !== 0 ? Number(fs.fstatSync(file.hostFd).size) : file.position;
  const n = writeAt(s.mem, file, iovs, start);
  file.position = start + n;
  s.mem.setU32(nwrittenPtr, n);
  return S;
}

export function fdPwrite(s: HostState, fd: number, iovsPtr: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
  const file = asFile(entryOf(s, fd), Errno.SPIPE);
  const iovs = s.mem.iovecs(iovsPtr, iovsLen);
  s.mem.check(nwrittenPtr, 4);
  requireRights(file, Rights.FD_WRITE | Rights.FD_SEEK);
  s.mem.setU32(nwrittenPtr, writeAt(s.mem, file, iovs, toPosition(offset)));
  return S;
}

function writeAt(mem: GuestMemory, file: FileEntry, iovs: readonly IoVec[], start: number): number {
  let pos = start;
  for (const iov of iovs) {
    let done = 0;
    while (done < iov.len) {
      const chunk = Math.min(iov.len - done, Bound.MAX_IO_CHUNK);
      const n = fs.writeSync(file.hostFd, mem.view(iov.ptr + done, chunk), 0, chunk, pos);
      if (n <= 0) return pos - start;
      done += n;
      pos += n;
    }
  }
  return pos - start;
}

export function fdSeek(s: HostState, fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
  const file = asFile(entryOf(s, fd), Errno.SPIPE);
  s.mem.check(newOffsetPtr, 8);
  const tellOnly = whence === Whence.CUR && offset === 0n;
  if (!tellOnly || (file.rightsBase & Rights.FD_TELL) === 0n) requireRights(file, Rights.FD_SEEK);
  let base: bigint;
  if (whence === Whence.SET) base = 0n;
  else if (whence === Whence.CUR) base = BigInt(file.position);
  else if (whence === Whence.END) base = fs.fstatSync(file.hostFd, { bigint: true }).size;
  else return fail(Errno.INVAL);
  const next = toPosition(base + offset);
  file.position = next;
  s.mem.setU64(newOffsetPtr, BigInt(next));
  return S;
}

export function fdTell(s: HostState, fd: number, offsetPtr: number): number {
  const file = asFile(entryOf(s, fd), Errno.SPIPE);
  s.mem.check(offsetPtr, 8);
  requireRights(file, Rights.FD_TELL);
  s.mem.setU64(offsetPtr, BigInt(file.position));
  return S;
}

export function fdClose(s: HostState, fd: number): number {
  entryOf(s, fd);
  s.fds.remove(fd);
  return S;
}

function fileTypeOfEntry(entry: FdEntry): number {
  if (entry.kind === "dir") return FileType.DIRECTORY;
  if (entry.kind === "file") return FileType.REGULAR_FILE;
  return FileType.UNKNOWN; // captured stdio behaves like a pipe
}

export function fileTypeOfStat(st: BigIntStats): number {
  if (st.isDirectory()) return FileType.DIRECTORY;
  if (st.isFile()) return FileType.REGULAR_FILE;
  if (st.isSymbolicLink()) return FileType.SYMBOLIC_LINK;
  if (st.isBlockDevice()) return FileType.BLOCK_DEVICE;
  if (st.isCharacterDevice()) return FileType.CHARACTER_DEVICE;
  if (st.isSocket()) return FileType.SOCKET_STREAM;
  return FileType.UNKNOWN;
}

export function fdFdstatGet(s: HostState, fd: number, ptr: number): number {
  const entry = entryOf(s, fd);
  s.mem.write(ptr, new Uint8Array(Size.FDSTAT));
  s.mem.setU8(ptr, fileTypeOfEntry(entry));
  s.mem.setU16(ptr + 2, entry.fdflags);
  s.mem.setU64(ptr + 8, entry.rightsBase);
  s.mem.setU64(ptr + 16, entry.rightsInheriting);
  return S;
}

export function fdFdstatSetFlags(s: HostState, fd: number, flags: number): number {
  const entry = entryOf(s, fd);
  requireRights(entry, Rights.FD_FDSTAT_SET_FLAGS);
  if ((flags & ~(FdFlags.APPEND | FdFlags.NONBLOCK)) !== 0) {
    deny(Errno.NOSYS, "wasi-jail", "ERR_WASI_UNSUPPORTED");
  }
  if ((flags & FdFlags.APPEND) !== 0 && entry.kind === "file" && !entry.jail.writable) {
    deny(Errno.NOTCAPABLE, entry.jail.enforcer, "ERR_WASI_READ_ONLY");
  }
  entry.fdflags = flags & 0xffff;
  return S;
}

/** Writes a 64-byte filestat; `st` null means a stdio stream (all zeros but the type). */
export function writeFilestat(mem: GuestMemory, ptr: number, st: BigIntStats | null, fileType: number): void {
  mem.write(ptr, new Uint8Array(Size.FILESTAT));
  mem.setU8(ptr + 16, fileType);
  if (st === null) return;
  mem.setU64(ptr, st.dev);
  mem.setU64(ptr + 8, st.ino);
  mem.setU64(ptr + 24, st.nlink);
  mem.setU64(ptr + 32, st.size);
  mem.setU64(ptr + 40, st.atimeNs);
  mem.setU64(ptr + 48, st.mtimeNs);
  mem.setU64(ptr + 56, st.ctimeNs);
}

export function fdFilestatGet(s: HostState, fd: number, ptr: number): number {
  const entry = entryOf(s, fd);
  s.mem.check(ptr, Size.FILESTAT);
  if (entry.kind !== "dir" && entry.kind !== "file") {
    writeFilestat(s.mem, ptr, null, FileType.UNKNOWN);
    return S;
  }
  requireRights(entry, Rights.FD_FILESTAT_GET);
  const st = fs.fstatSync(entry.hostFd, { bigint: true });
  writeFilestat(s.mem, ptr, st, fileTypeOfStat(st));
  return S;
}

export function fdFilestatSetSize(s: HostState, fd: number, size: bigint): number {
  const file = asFile(entryOf(s, fd), Errno.INVAL);
  if (!file.jail.writable) deny(Errno.NOTCAPABLE, file.jail.enforcer, "ERR_WASI_READ_ONLY");
  requireRights(file, Rights.FD_FILESTAT_SET_SIZE);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) fail(Errno.FBIG);
  fs.ftruncateSync(file.hostFd, Number(size));
  return S;
}

/** fd_prestat_get. EBADF here is the normal end of libc's preopen scan, so it is not a denial. */
export function fdPrestatGet(s: HostState, fd: number, ptr: number): number {
  const entry = s.fds.get(fd);
  if (entry?.kind !== "dir" || !entry.preopen) return fail(Errno.BADF);
  s.mem.check(ptr, Size.PRESTAT);
  s.mem.write(ptr, new Uint8Array(Size.PRESTAT));
  s.mem.setU8(ptr, PREOPEN_TYPE_DIR);
  s.mem.setU32(ptr + 4, Buffer.byteLength(entry.jail.guestPath));
  return S;
}

export function fdPrestatDirName(s: HostState, fd: number, ptr: number, len: number): number {
  const entry = s.fds.get(fd);
  if (entry?.kind !== "dir" || !entry.preopen) return fail(Errno.BADF);
  const name = Buffer.from(entry.jail.guestPath);
  if (len < name.length) return fail(Errno.NAMETOOLONG);
  s.mem.write(ptr, name);
  return S;
}

export function fdSync(s: HostState, fd: number, dataOnly: boolean): number {
  const entry = entryOf(s, fd);
  if (entry.kind !== "dir" && entry.kind !== "file") return fail(Errno.INVAL);
  requireRights(entry, dataOnly ? Rights.FD_DATASYNC : Rights.FD_SYNC);
  if (dataOnly) fs.fdatasyncSync(entry.hostFd);
  else fs.fsyncSync(entry.hostFd);
  return S;
}
