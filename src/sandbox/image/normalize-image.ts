// Turns a root filesystem tar (mmdebstrap's) into cordon's normalised image: entries sorted by
// path, owner root:root, mtimes clamped to SOURCE_DATE_EPOCH, device nodes dropped (the OCI
// runtime makes /dev), setuid and setgid bits cleared (nothing in a tool container may gain
// privilege by exec), hardlinks pointing at the first of their group, and the mount points
// cordon binds into every container added (/.cordon/seccomp-exec, /.cordon/probe, /workspace).
// The output passes image-rules.ts entry by entry, or this throws. Used by the image build
// script only (it holds the archive's contents in memory, once).
import { ImageEntryRefused } from "../../errors.js";
import { checkEntry, newIndex } from "./image-rules.js";
import { encodeHeader, END_OF_ARCHIVE, padding, readTar, type TarHeader } from "./tar.js";

export interface NormalizeOptions {
  /** SOURCE_DATE_EPOCH: no mtime is later than this. */
  readonly mtime: number;
  /** Directories (mode 0755) and empty files (0755) to add when absent: mount points. */
  readonly addDirs: readonly string[];
  readonly addFiles: readonly string[];
}

export const CORDON_MOUNT_POINTS: Omit<NormalizeOptions, "mtime"> = {
  addDirs: [".cordon", ".cordon/probe", "workspace"],
  addFiles: [".cordon/seccomp-exec"],
};

export interface Normalized {
  readonly chunks: Buffer[];
  readonly entries: number;
  readonly dropped: readonly string[];
  readonly cleared: readonly string[];
  /** Installed packages (name -> version) from var/lib/dpkg/status. */
  readonly packages: Readonly<Record<string, string>>;
}

function parseDpkgStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const stanza of text.split(/\n\n+/)) {
    const name = /^Package: (.+)$/m.exec(stanza)?.[1];
    const version = /^Version: (.+)$/m.exec(stanza)?.[1];
    const status = /^Status: (.+)$/m.exec(stanza)?.[1];
    if (name !== undefined && version !== undefined && status?.endsWith(" installed")) out[name] = version;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function normalizeImage(raw: Uint8Array, opts: NormalizeOptions): Normalized {
  const dropped: string[] = [];
  const cleared: string[] = [];
  const byPath = new Map<string, { header: TarHeader; data: Buffer }>();
  for (const e of readTar(raw)) {
    const h = e.header;
    if (h.type === "char" || h.type === "block" || h.type === "fifo") {
      dropped.push(h.path);
      continue;
    }
    if (byPath.has(h.path)) throw new ImageEntryRefused(h.path, "a duplicate entry in the source archive");
    let mode = h.mode;
    if ((mode & 0o6000) !== 0) {
      cleared.push(h.path);
      mode &= ~0o6000;
    }
    if (h.type !== "dir") mode &= ~0o1000;
    byPath.set(h.path, { header: { ...h, mode, uid: 0, gid: 0, mtime: Math.min(h.mtime, opts.mtime) }, data: e.data });
  }
  const add = (path: string, type: "dir" | "file"): void => {
    if (byPath.has(path)) return;
    byPath.set(path, { header: { path, type, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: opts.mtime, linkname: "", devmajor: 0, devminor: 0 }, data: Buffer.alloc(0) });
  };
  for (const d of opts.addDirs) add(d, "dir");
  for (const f of opts.addFiles) add(f, "file");
  const paths = [...byPath.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  // A hardlink group's data goes to whichever member sorts first; the rest link to it.
  const groupHead = new Map<string, string>();
  for (const p of paths) {
    const e = byPath.get(p);
    if (e?.header.type !== "hardlink") continue;
    const target = e.header.linkname.replace(/^\.\//, "");
    const t = byPath.get(target);
    if (t === undefined || t.header.type !== "file") throw new ImageEntryRefused(p, "a hardlink to a missing or non-regular file");
    if (Buffer.compare(Buffer.from(p), Buffer.from(target)) < 0 && !groupHead.has(target)) {
      byPath.set(p, { header: { ...t.header, path: p }, data: t.data });
      byPath.set(target, { header: { ...e.header, path: target, linkname: p, size: 0, mode: t.header.mode }, data: Buffer.alloc(0) });
      groupHead.set(target, p);
    }
  }
  const index = newIndex();
  const chunks: Buffer[] = [];
  for (const p of paths) {
    const e = byPath.get(p);
    if (e === undefined) continue;
    let h = e.header;
    if (h.type === "hardlink") {
      const target = h.linkname.replace(/^\.\//, "");
      const head = groupHead.get(target);
      h = { ...h, linkname: head !== undefined && head !== p ? head : target };
    }
    checkEntry(h, index);
    chunks.push(...encodeHeader(h));
    if (h.type === "file" && h.size > 0) chunks.push(e.data, padding(h.size));
  }
  chunks.push(END_OF_ARCHIVE);
  const status = byPath.get("var/lib/dpkg/status");
  return { chunks, entries: paths.length, dropped, cleared, packages: status === undefined ? {} : parseDpkgStatus(status.data.toString("utf8")) };
}
