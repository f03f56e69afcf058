// The I/O edge of the lock: lists a folder's files and hashes them. Two paths, run at once:
// - a few large host files (the node binary, ~100 MB) are streamed in 1 MiB chunks, so memory
//   stays flat, on a worker thread (hash-worker.ts), i.e. on the second core;
// - thousands of small files (dist/, node_modules/) are hashed synchronously in batches that
//   yield to the event loop between them. Measured here: an async open/stat/read/close costs
//   four thread-pool round trips per file (~125 µs each with 16 in flight), a synchronous one
//   ~30–40 µs; this cut verifying the whole installation from ~780 ms to ~250 ms, and the worker to ~190 ms.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync } from "node:fs";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { FileDigest } from "./manifest.js";

const CHUNK = 1024 * 1024;
/** Small files hashed per turn of the event loop. */
const BATCH = 128;

export interface Measured {
  readonly digest: FileDigest;
  readonly bytes: number;
}

export type EntryKind = "file" | "symlink" | "other";

export interface TreeEntry {
  /** Relative to the listed root, posix separators. */
  readonly rel: string;
  readonly kind: EntryKind;
}

/** Streams one (large) regular file through sha256. `path` must not be a link (pass a realpath). */
export async function digestPath(path: string): Promise<Measured> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!(await handle.stat()).isFile()) return { digest: "special:other", bytes: 0 };
    const hash = createHash("sha256");
    let total = 0;
    for await (const chunk of handle.createReadStream({ highWaterMark: CHUNK, autoClose: false })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      total += buf.byteLength;
    }
    return { digest: `sha256:${hash.digest("hex")}`, bytes: total };
  } finally {
    await handle.close();
  }
}

/**
 * One entry of a listed tree, synchronously. The file is opened with O_NOFOLLOW and checked
 * through the same descriptor, so a file swapped for a link after listing is not followed.
 */
export function digestEntrySync(path: string, kind: EntryKind, buf: Buffer): Measured {
  if (kind === "symlink") return { digest: `symlink:${readlinkSync(path)}`, bytes: 0 };
  if (kind === "other") return { digest: "special:other", bytes: 0 };
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isFile()) return { digest: "special:other", bytes: 0 };
    const hash = createHash("sha256");
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.byteLength, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      total += n;
    }
    return { digest: `sha256:${hash.digest("hex")}`, bytes: total };
  } finally {
    closeSync(fd);
  }
}

/** Hashes tree entries in batches, yielding between batches. An unreadable entry is `special:unreadable`. */
export async function digestEntries(items: readonly { readonly abs: string; readonly kind: EntryKind }[]): Promise<Measured[]> {
  const buf = Buffer.allocUnsafe(CHUNK);
  const out: Measured[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % BATCH === 0) await yieldToLoop();
    const item = items[i] as { abs: string; kind: EntryKind };
    try {
      out.push(digestEntrySync(item.abs, item.kind, buf));
    } catch {
      out.push({ digest: "special:unreadable", bytes: 0 });
    }
  }
  return out;
}

/**
 * Every non-directory entry under `root`, sorted by path. Symbolic links are listed, never
 * followed. `skipTopNodeModules` leaves out `root/node_modules` (an npm package's own
 * dependencies, locked as packages of their own). Null if `root` is not a directory.
 */
export async function listTree(root: string, skipTopNodeModules = false): Promise<TreeEntry[] | null> {
  try {
    if (!(await lstat(root)).isDirectory()) return null;
  } catch {
    return null;
  }
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(rel === "" ? root : join(root, rel), { withFileTypes: true });
    const subdirs: Promise<void>[] = [];
    for (const e of entries) {
      const child = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!(skipTopNodeModules && child === "node_modules")) subdirs.push(walk(child));
      } else {
        out.push({ rel: child, kind: e.isFile() ? "file" : e.isSymbolicLink() ? "symlink" : "other" });
      }
    }
    await Promise.all(subdirs);
  };
  await walk("");
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
