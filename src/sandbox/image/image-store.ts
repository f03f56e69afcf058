// Container images: verify the bytes, then unpack those same bytes. An image is a tar read
// through one open fd in 1 MiB pieces (never held whole): every piece is hashed and, when the
// store has no copy yet, unpacked into a fresh private directory as it is hashed. Only when the
// archive ended well, every entry passed image-rules.ts and the digest equals the pinned one is
// the directory renamed into place, under its digest: the bytes unpacked are exactly the bytes
// checked. The store is content-addressed and read-only to every session (root-owned, mounted
// read-only into each container), so one copy serves every session and every control plane.
import { randomUUID } from "node:crypto";
import { createHash } from "node:crypto";
import {
  chmodSync, closeSync, existsSync, fstatSync, linkSync, lutimesSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync,
} from "node:fs";
import { join } from "node:path";
import { ArtifactUnreadable, DigestMismatch, TierUnavailable } from "../../errors.js";
import { checkEntry, newIndex, type ImageIndex } from "./image-rules.js";
import { TarParser, type TarHeader } from "./tar.js";

/** Where unpacked images live by default (root-owned, 0711). */
export const DEFAULT_IMAGE_STORE = "/var/lib/cordon/images";
/** Largest image cordon reads. */
export const MAX_IMAGE_BYTES = 4 * 1024 ** 3;
const PIECE = 1024 * 1024;
const STAMP = "image.json";

export interface ImageScan {
  readonly sha256: string;
  readonly bytes: number;
  readonly entries: number;
  /** Every entry by path: what a tool's program is checked against at load. */
  readonly index: ImageIndex;
}

/** Reads `fd` to its end in pieces, handing each to `each`. */
function readPieces(fd: number, each: (piece: Uint8Array) => void): number {
  const buf = Buffer.allocUnsafe(PIECE);
  let total = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, PIECE, null);
    if (n === 0) return total;
    total += n;
    each(buf.subarray(0, n));
  }
}

function openImage(path: string): { fd: number; size: number; key: string } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new ArtifactUnreadable(path, (err as NodeJS.ErrnoException).code ?? "open failed");
  }
  const st = fstatSync(fd, { bigint: true });
  if (!st.isFile()) {
    closeSync(fd);
    throw new ArtifactUnreadable(path, "not a regular file");
  }
  if (st.size > BigInt(MAX_IMAGE_BYTES)) {
    closeSync(fd);
    throw new ArtifactUnreadable(path, `${st.size} bytes, over the ${MAX_IMAGE_BYTES}-byte cap`);
  }
  return { fd, size: Number(st.size), key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` };
}

// A scan is the same for the same inode as long as nothing wrote to it (size, mtime and ctime
// unchanged; ctime cannot be set back from user space). Tests and probes load a policy many
// times per process; without this each load would hash hundreds of MB again.
const scans = new Map<string, ImageScan>();

/**
 * Hashes and indexes an image through one fd (no unpacking): what the policy loader checks
 * (digest, signature over that digest, the tool's program inside). Every entry is held to the
 * same rules as when unpacking, so an image that would be refused later is refused at load.
 */
export function scanImage(path: string): ImageScan {
  const { fd, key } = openImage(path);
  try {
    const known = scans.get(key);
    if (known !== undefined) return known;
    const hash = createHash("sha256");
    const index = newIndex();
    let entries = 0;
    const parser = new TarParser((h) => {
      checkEntry(h, index);
      entries += 1;
    }, () => undefined);
    const bytes = readPieces(fd, (piece) => {
      hash.update(piece);
      parser.push(piece);
    });
    parser.finish();
    const scan = { sha256: hash.digest("hex"), bytes, entries, index };
    if (scans.size > 16) scans.clear();
    scans.set(key, scan);
    return scan;
  } finally {
    closeSync(fd);
  }
}

export interface UnpackedImage {
  readonly sha256: string;
  /** The read-only root filesystem: `<store>/<sha256>/rootfs`. */
  readonly rootfs: string;
  /** False when the store already held it. */
  readonly unpacked: boolean;
  readonly ms: number;
}

/** The store's copy of an image, if a complete one exists (its stamp is written last). */
export function storedImage(store: string, sha256: string): string | null {
  const dir = join(store, sha256);
  if (!existsSync(join(dir, STAMP))) return null;
  try {
    const stamp = JSON.parse(readFileSync(join(dir, STAMP), "utf8")) as { sha256?: unknown };
    return stamp.sha256 === sha256 ? join(dir, "rootfs") : null;
  } catch {
    return null;
  }
}

/** Makes the store's directory (root-owned, traversable but not listable by others). */
export function ensureStore(store: string): void {
  if (process.getuid?.() !== 0) throw new TierUnavailable("container", "unpacking an image into the root-owned image store needs root");
  mkdirSync(store, { recursive: true, mode: 0o711 });
  chmodSync(store, 0o711);
}

class Unpacker {
  private fd: number | null = null;
  private readonly dirs: Array<{ path: string; mode: number; mtime: number }> = [];
  private readonly times: Array<{ path: string; mtime: number; link: boolean }> = [];

  constructor(private readonly root: string) {}

  entry(h: TarHeader): void {
    const dest = h.path === "" ? this.root : join(this.root, h.path);
    switch (h.type) {
      case "dir":
        // Created writable for us; the image's mode is applied once everything is in place.
        if (h.path !== "") mkdirSync(dest, { mode: 0o700 });
        this.dirs.push({ path: dest, mode: h.mode, mtime: h.mtime });
        return;
      case "file":
        // wx: O_CREAT|O_EXCL, which never follows a symlink and never opens an existing file.
        this.fd = openSync(dest, "wx", 0o600);
        this.times.push({ path: dest, mtime: h.mtime, link: false });
        this.pendingMode = h.mode;
        return;
      case "symlink":
        symlinkSync(h.linkname, dest);
        this.times.push({ path: dest, mtime: h.mtime, link: true });
        return;
      case "hardlink":
        linkSync(join(this.root, h.linkname.replace(/^\.\//, "")), dest);
        return;
      case "char":
      case "block":
      case "fifo":
        throw new Error("unreachable: checkEntry refuses device nodes");
    }
  }

  private pendingMode = 0o644;

  data(piece: Uint8Array): void {
    if (this.fd === null) return;
    let at = 0;
    while (at < piece.length) at += writeSync(this.fd, piece, at, piece.length - at);
  }

  entryEnd(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    const last = this.times.at(-1);
    if (last !== undefined) chmodSync(last.path, this.pendingMode);
  }

  finish(): void {
    for (const t of this.times) {
      if (t.link) lutimesSync(t.path, t.mtime, t.mtime);
      else utimesSync(t.path, t.mtime, t.mtime);
    }
    // Deepest first, so a read-only directory never blocks its children.
    for (const d of [...this.dirs].reverse()) {
      chmodSync(d.path, d.mode);
      utimesSync(d.path, d.mtime, d.mtime);
    }
  }

  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * The image pinned as `sha256`, unpacked in `store` (from `path` if the store has no copy).
 * Throws DigestMismatch (nothing is kept), ImageEntryRefused or TarMalformed.
 */
export function ensureImage(path: string, sha256: string, store: string = DEFAULT_IMAGE_STORE): UnpackedImage {
  const started = performance.now();
  const have = storedImage(store, sha256);
  if (have !== null) return { sha256, rootfs: have, unpacked: false, ms: performance.now() - started };
  ensureStore(store);
  const partial = join(store, `.partial-${randomUUID()}`);
  mkdirSync(partial, { mode: 0o700 });
  const rootfs = join(partial, "rootfs");
  mkdirSync(rootfs, { mode: 0o700 });
  const { fd } = openImage(path);
  const unpacker = new Unpacker(rootfs);
  try {
    const hash = createHash("sha256");
    const index = newIndex();
    const parser = new TarParser(
      (h) => {
        checkEntry(h, index);
        unpacker.entry(h);
      },
      (piece) => unpacker.data(piece),
      () => unpacker.entryEnd(),
    );
    readPieces(fd, (piece) => {
      hash.update(piece);
      parser.push(piece);
    });
    parser.finish();
    const actual = hash.digest("hex");
    if (actual !== sha256) throw new DigestMismatch(path, sha256, actual);
    unpacker.finish();
    writeFileSync(join(partial, STAMP), `${JSON.stringify({ sha256, source: path, unpackedAt: new Date().toISOString() })}\n`, { mode: 0o644 });
    chmodSync(partial, 0o711);
    try {
      renameSync(partial, join(store, sha256));
    } catch (err) {
      // Another control plane unpacked the same digest meanwhile: its copy is as good as ours.
      if (storedImage(store, sha256) === null) throw err;
      rmSync(partial, { recursive: true, force: true });
    }
    return { sha256, rootfs: join(store, sha256, "rootfs"), unpacked: true, ms: performance.now() - started };
  } catch (err) {
    unpacker.abort();
    rmSync(partial, { recursive: true, force: true });
    throw err;
  } finally {
    closeSync(fd);
  }
}
