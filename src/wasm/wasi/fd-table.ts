// The guest's descriptor table. Only this table and Jail ever hold host fds, and only fds this
// host opened itself; close() releases every one of them.

import fs from "node:fs";
import type { Jail } from "./jail.js";

export interface DirListingEntry {
  readonly name: Buffer;
  readonly type: number;
  readonly ino: bigint;
}

interface EntryBase {
  readonly rightsBase: bigint;
  readonly rightsInheriting: bigint;
  /** WASI fdflags; only APPEND changes behaviour here. */
  fdflags: number;
}

export interface StdioEntry extends EntryBase {
  readonly kind: "stdin" | "stdout" | "stderr";
}

export interface DirEntry extends EntryBase {
  readonly kind: "dir";
  readonly hostFd: number;
  readonly jail: Jail;
  /** The preopen's own root fd (owned by the Jail, not by this entry). */
  readonly preopen: boolean;
  /** Snapshot taken by fd_readdir at cookie 0, so cookies stay stable across calls. */
  listing: DirListingEntry[] | null;
}

export interface FileEntry extends EntryBase {
  readonly kind: "file";
  readonly hostFd: number;
  readonly jail: Jail;
  /** The file offset, kept here: every host read/write is positional (Node has no lseek). */
  position: number;
}

export type FdEntry = StdioEntry | DirEntry | FileEntry;

export class FdTable {
  readonly #entries = new Map<number, FdEntry>();
  readonly #maxOpened: number;
  #opened = 0;

  constructor(maxOpened: number) {
    this.#maxOpened = maxOpened;
  }

  get(fd: number): FdEntry | undefined {
    return this.#entries.get(fd);
  }

  /** Whether one more guest-opened file fits under maxOpenFiles. */
  canOpen(): boolean {
    return this.#opened < this.#maxOpened;
  }

  /** Puts `entry` at the lowest free descriptor number and returns it. */
  add(entry: FdEntry): number {
    let fd = 0;
    while (this.#entries.has(fd)) fd++;
    this.#entries.set(fd, entry);
    if (isGuestOpened(entry)) this.#opened++;
    return fd;
  }

  /** Removes `fd` and closes the host fd behind it (a preopen's root stays with its Jail). */
  remove(fd: number): void {
    const entry = this.#entries.get(fd);
    if (entry === undefined) return;
    this.#entries.delete(fd);
    if (isGuestOpened(entry)) {
      this.#opened--;
      fs.closeSync(entry.hostFd);
    }
  }

  /** Closes every host fd held by the table. Idempotent. */
  clear(): void {
    for (const fd of [...this.#entries.keys()]) this.remove(fd);
  }
}

function isGuestOpened(entry: FdEntry): entry is DirEntry | FileEntry {
  return entry.kind === "file" || (entry.kind === "dir" && !entry.preopen);
}
