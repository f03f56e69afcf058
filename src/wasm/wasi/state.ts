// The state a WasiHost owns, as seen by the operation modules, plus the lookups they share.

import type { FdEntry, FdTable, DirEntry, FileEntry } from "./fd-table.js";
import type { GuestMemory } from "./memory.js";
import type { OutputBuffer } from "./output.js";
import { Errno, FILE_WRITE_RIGHTS } from "./constants.js";
import { deny, fail } from "./refusal.js";

/** Enforcer named when a refusal concerns a descriptor rather than a preopen. */
export const FD_ENFORCER = "wasi-jail";

export interface StdinSource {
  readonly bytes: Uint8Array;
  position: number;
}

export interface HostState {
  readonly mem: GuestMemory;
  readonly fds: FdTable;
  readonly stdin: StdinSource;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
}

/** The entry for `fd`, or a denial (EBADF, ERR_WASI_BAD_FD). */
export function entryOf(s: HostState, fd: number): FdEntry {
  return s.fds.get(fd) ?? deny(Errno.BADF, FD_ENFORCER, "ERR_WASI_BAD_FD");
}

/** Refuses (ENOTCAPABLE) unless `entry` holds every bit of `rights`. */
export function requireRights(entry: FdEntry, rights: bigint): void {
  if ((entry.rightsBase & rights) === rights) return;
  const jail = entry.kind === "dir" || entry.kind === "file" ? entry.jail : null;
  const readOnly = jail !== null && !jail.writable && (rights & FILE_WRITE_RIGHTS) !== 0n;
  deny(Errno.NOTCAPABLE, jail?.enforcer ?? FD_ENFORCER, readOnly ? "ERR_WASI_READ_ONLY" : "ERR_WASI_NOT_CAPABLE");
}

/** The directory entry for `fd` (EBADF denial if absent, ENOTDIR if not a directory). */
export function dirOf(s: HostState, fd: number): DirEntry {
  const entry = entryOf(s, fd);
  return entry.kind === "dir" ? entry : fail(Errno.NOTDIR);
}

/** The regular-file entry for `entry` (EISDIR for a directory, `stdioErrno` for stdio). */
export function asFile(entry: FdEntry, stdioErrno: number): FileEntry {
  if (entry.kind === "file") return entry;
  return fail(entry.kind === "dir" ? Errno.ISDIR : stdioErrno);
}

/** A guest offset as a JS number the Node fs API accepts, or EINVAL/EOVERFLOW. */
export function toPosition(offset: bigint): number {
  if (offset < 0n) return fail(Errno.INVAL);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return fail(Errno.OVERFLOW);
  return Number(offset);
}
