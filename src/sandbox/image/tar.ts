// A small tar reader and writer, enough for root filesystem images and nothing more. The reader
// parses ustar/GNU headers (GNU long names 'L'/'K' and pax 'x' path/linkpath/size records are
// folded into the entry that follows); it decides nothing about safety: checkEntry in
// image-rules.ts does. The writer emits the one normalised form cordon's images use: ustar,
// sorted by the caller, uid/gid 0, a fixed mtime, GNU 'L' records for names past 100 bytes.
// Pure: bytes in, entries out; the I/O lives in the callers (read from an fd, in pieces).
import { TarMalformed } from "../../errors.js";

export const BLOCK = 512;

export type EntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarHeader {
  /** The path as written, without a leading "./" (the root itself is ""). */
  readonly path: string;
  readonly type: EntryType;
  /** Permission bits, including setuid/setgid/sticky (0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  /** Symlink target or hardlink source, as written. */
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

const TYPES: Readonly<Record<string, EntryType>> = { "0": "file", "\0": "file", "7": "file", "5": "dir", "2": "symlink", "1": "hardlink", "3": "char", "4": "block", "6": "fifo" };

function field(block: Uint8Array, at: number, len: number): string {
  const raw = block.subarray(at, at + len);
  const end = raw.indexOf(0);
  return Buffer.from(end < 0 ? raw : raw.subarray(0, end)).toString("utf8");
}

function octal(block: Uint8Array, at: number, len: number, what: string): number {
  const first = block[at] ?? 0;
  if (first & 0x80) {
    // GNU base-256 for large values: only positive numbers that fit a safe integer.
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + (block[at + i] ?? 0);
    if ((first & 0x40) !== 0 || !Number.isSafeInteger(v)) throw new TarMalformed(`bad base-256 ${what}`);
    return v;
  }
  const text = field(block, at, len).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarMalformed(`bad octal ${what}: ${JSON.stringify(text.slice(0, 16))}`);
  const v = Number.parseInt(text, 8);
  if (!Number.isSafeInteger(v)) throw new TarMalformed(`${what} too large`);
  return v;
}

function checksumOk(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return octal(block, 148, 8, "checksum") === sum;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function cleanPath(raw: string): string {
  let p = raw;
  while (p.startsWith("./")) p = p.slice(2);
  if (p === ".") p = "";
  while (p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

/** Pax records: only path, linkpath and size are honoured; the rest are read and ignored. */
function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const text = Buffer.from(data).toString("utf8");
  let at = 0;
  while (at < text.length) {
    const sp = text.indexOf(" ", at);
    if (sp < 0) throw new TarMalformed("bad pax record");
    const len = Number(text.slice(at, sp));
    if (!Number.isInteger(len) || len <= 0 || at + len > text.length) throw new TarMalformed("bad pax record length");
    const rec = text.slice(sp + 1, at + len - 1);
    const eq = rec.indexOf("=");
    if (eq < 0) throw new TarMalformed("bad pax record");
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    at += len;
  }
  return out;
}

/** Bytes of data (rounded up to whole blocks) that follow a header of `size`. */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/**
 * Incremental tar parser: feed it bytes as they arrive; it calls onEntry for each header and
 * onData for each piece of an entry's content, in order. Longer than MAX_META metadata records
 * are refused (a name is at most 4 KiB here).
 */
export class TarParser {
  private pending = Buffer.alloc(0);
  private state: "header" | "data" | "meta" | "end" = "header";
  private remaining = 0;
  private padding = 0;
  private metaKind = "";
  private meta: Buffer[] = [];
  private longName: string | null = null;
  private longLink: string | null = null;
  private pax: Map<string, string> | null = null;
  private zeroBlocks = 0;

  constructor(
    private readonly onEntry: (h: TarHeader) => void,
    private readonly onData: (chunk: Uint8Array) => void,
    private readonly onEntryEnd: () => void = () => undefined,
  ) {}

  static readonly MAX_META = 4096;

  get ended(): boolean {
    return this.state === "end";
  }

  push(chunk: Uint8Array): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending = Buffer.alloc(0);
    let at = 0;
    while (at < buf.length) {
      if (this.state === "end") return; // trailing bytes after the end marker are ignored
      if (this.state === "data" || this.state === "meta") {
        if (this.remaining > 0) {
          const n = Math.min(this.remaining, buf.length - at);
          const piece = buf.subarray(at, at + n);
          if (this.state === "data") this.onData(piece);
          else this.meta.push(Buffer.from(piece));
          this.remaining -= n;
          at += n;
          continue;
        }
        if (this.padding > 0) {
          const n = Math.min(this.padding, buf.length - at);
          this.padding -= n;
          at += n;
          if (this.padding > 0) continue;
        }
        this.finishBody();
        continue;
      }
      if (buf.length - at < BLOCK) {
        this.pending = Buffer.from(buf.subarray(at));
        return;
      }
      const block = buf.subarray(at, at + BLOCK);
      at += BLOCK;
      this.header(block);
    }
    // A body that ended exactly at the chunk's end, padding included.
    if ((this.state === "data" || this.state === "meta") && this.remaining === 0 && this.padding === 0) this.finishBody();
    buf = Buffer.alloc(0);
  }

  /** Throws unless the archive ended properly (two zero blocks, or one at EOF as GNU tar accepts). */
  finish(): void {
    if (this.state === "end" || (this.state === "header" && this.zeroBlocks >= 1 && this.pending.length === 0)) return;
    throw new TarMalformed("the archive is truncated");
  }

  private finishBody(): void {
    if (this.state === "data") {
      this.state = "header";
      this.onEntryEnd();
      return;
    }
    const data = Buffer.concat(this.meta);
    this.meta = [];
    this.state = "header";
    if (this.metaKind === "L") this.longName = field(data, 0, data.length);
    else if (this.metaKind === "K") this.longLink = field(data, 0, data.length);
    else if (this.metaKind === "x") this.pax = parsePax(data);
    // 'g' (global pax) is read and ignored.
  }

  private header(block: Uint8Array): void {
    if (isZeroBlock(block)) {
      this.zeroBlocks += 1;
      if (this.zeroBlocks === 2) this.state = "end";
      return;
    }
    if (this.zeroBlocks > 0) throw new TarMalformed("a header after an end-of-archive block");
    if (!checksumOk(block)) throw new TarMalformed("header checksum mismatch");
    const typeflag = String.fromCharCode(block[156] ?? 0);
    const size = octal(block, 124, 12, "size");
    if (typeflag === "L" || typeflag === "K" || typeflag === "x" || typeflag === "g") {
      if (size > TarParser.MAX_META) throw new TarMalformed(`a ${typeflag} record of ${size} bytes`);
      this.state = "meta";
      this.metaKind = typeflag;
      this.remaining = size;
      this.padding = paddedSize(size) - size;
      if (size === 0) this.finishBody();
      return;
    }
    const type = TYPES[typeflag];
    if (type === undefined) throw new TarMalformed(`unsupported entry type ${JSON.stringify(typeflag)}`);
    const magic = field(block, 257, 6);
    const prefix = magic.startsWith("ustar") && block[263] === 0x30 ? field(block, 345, 155) : "";
    let name = field(block, 0, 100);
    if (prefix !== "") name = `${prefix}/${name}`;
    let linkname = field(block, 157, 100);
    let realSize = size;
    if (this.longName !== null) name = this.longName;
    if (this.longLink !== null) linkname = this.longLink;
    if (this.pax !== null) {
      name = this.pax.get("path") ?? name;
      linkname = this.pax.get("linkpath") ?? linkname;
      const s = this.pax.get("size");
      if (s !== undefined) {
        realSize = Number(s);
        if (!Number.isSafeInteger(realSize) || realSize < 0) throw new TarMalformed("bad pax size");
      }
    }
    this.longName = null;
    this.longLink = null;
    this.pax = null;
    if (type !== "file" && realSize !== 0 && type !== "hardlink") throw new TarMalformed(`a ${type} entry with data`);
    const header: TarHeader = {
      path: cleanPath(name),
      type,
      mode: octal(block, 100, 8, "mode") & 0o7777,
      uid: octal(block, 108, 8, "uid"),
      gid: octal(block, 116, 8, "gid"),
      size: type === "file" ? realSize : 0,
      mtime: octal(block, 136, 12, "mtime"),
      linkname,
      devmajor: type === "char" || type === "block" ? octal(block, 329, 8, "devmajor") : 0,
      devminor: type === "char" || type === "block" ? octal(block, 337, 8, "devminor") : 0,
    };
    if (name.includes("\0") || linkname.includes("\0")) throw new TarMalformed("a NUL in a name");
    this.onEntry(header);
    this.state = "data";
    this.remaining = realSize;
    this.padding = paddedSize(realSize) - realSize;
    if (realSize === 0) {
      this.state = "header";
      this.onEntryEnd();
    }
  }
}

/** Every entry of a whole archive held in memory (tests and small archives only). */
export function readTar(bytes: Uint8Array): Array<{ header: TarHeader; data: Buffer }> {
  const out: Array<{ header: TarHeader; data: Buffer }> = [];
  let parts: Buffer[] = [];
  const p = new TarParser(
    (h) => {
      parts = [];
      out.push({ header: h, data: Buffer.alloc(0) });
    },
    (c) => parts.push(Buffer.from(c)),
    () => {
      const last = out.at(-1);
      if (last !== undefined) last.data = Buffer.concat(parts);
    },
  );
  p.push(bytes);
  p.finish();
  return out;
}

const TYPEFLAG: Readonly<Record<EntryType, string>> = { file: "0", dir: "5", symlink: "2", hardlink: "1", char: "3", block: "4", fifo: "6" };

function putString(block: Buffer, at: number, len: number, value: string): void {
  const b = Buffer.from(value, "utf8");
  if (b.length > len) throw new TarMalformed(`${JSON.stringify(value.slice(0, 32))} does not fit ${len} bytes`);
  b.copy(block, at);
}

function putOctal(block: Buffer, at: number, len: number, value: number): void {
  const text = value.toString(8).padStart(len - 1, "0");
  if (text.length > len - 1) throw new TarMalformed(`value ${value} does not fit`);
  putString(block, at, len, text);
}

function rawHeader(name: string, type: string, h: { mode: number; size: number; mtime: number; linkname: string; devmajor?: number; devminor?: number }): Buffer {
  const block = Buffer.alloc(BLOCK);
  putString(block, 0, 100, name);
  putOctal(block, 100, 8, h.mode);
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  putOctal(block, 124, 12, h.size);
  putOctal(block, 136, 12, h.mtime);
  block[156] = type.charCodeAt(0);
  putString(block, 157, 100, h.linkname);
  block.write("ustar\u000000", 257, "latin1");
  putString(block, 265, 32, "root");
  putString(block, 297, 32, "root");
  putOctal(block, 329, 8, h.devmajor ?? 0);
  putOctal(block, 337, 8, h.devminor ?? 0);
  block.fill(32, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i] ?? 0;
  putString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function longRecord(kind: "L" | "K", value: string): Buffer[] {
  const data = Buffer.from(`${value}\0`, "utf8");
  const header = rawHeader("././@LongLink", kind, { mode: 0, size: data.length, mtime: 0, linkname: "" });
  return [header, data, Buffer.alloc(paddedSize(data.length) - data.length)];
}

/**
 * One entry in cordon's normalised form: owner root:root, the given mtime, "./"-relative name
 * (directories with a trailing slash). Returns the blocks to write before the entry's data.
 */
export function encodeHeader(h: Omit<TarHeader, "uid" | "gid">): Buffer[] {
  const name = h.path === "" ? "./" : `./${h.path}${h.type === "dir" ? "/" : ""}`;
  const out: Buffer[] = [];
  const nameFits = Buffer.byteLength(name) <= 100;
  const linkFits = Buffer.byteLength(h.linkname) <= 100;
  if (!linkFits) out.push(...longRecord("K", h.linkname));
  if (!nameFits) out.push(...longRecord("L", name));
  out.push(
    rawHeader(nameFits ? name : name.slice(0, 99), TYPEFLAG[h.type], {
      mode: h.mode,
      size: h.type === "file" ? h.size : 0,
      mtime: h.mtime,
      linkname: linkFits ? h.linkname : h.linkname.slice(0, 99),
      devmajor: h.devmajor,
      devminor: h.devminor,
    }),
  );
  return out;
}

/** Zero padding after `size` bytes of data, and the end-of-archive marker. */
export const padding = (size: number): Buffer => Buffer.alloc(paddedSize(size) - size);
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
