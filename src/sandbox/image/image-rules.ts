// What a container image may hold, decided entry by entry and in order (pure). An entry is
// refused for: an absolute path, a '..' or '.' or empty component, a parent that is not a
// directory seen earlier (so nothing is ever written through a symlink), a duplicate, a device
// node or fifo, a setuid or setgid bit, an owner other than root, a hardlink to anything but an
// earlier regular file, a relative symlink that climbs above the image's root. Absolute
// symlinks are kept: they resolve inside the container's own root.
import { posix } from "node:path";
import { ImageEntryRefused } from "../../errors.js";
import type { EntryType, TarHeader } from "./tar.js";

export const MAX_PATH_BYTES = 4096;

export interface IndexEntry {
  readonly type: EntryType;
  readonly mode: number;
  readonly size: number;
  readonly linkname: string;
}

/** The image's entries so far, by path ("" is the root). */
export type ImageIndex = Map<string, IndexEntry>;

export function newIndex(): ImageIndex {
  return new Map([["", { type: "dir", mode: 0o755, size: 0, linkname: "" }]]);
}

function components(path: string): string[] {
  return path === "" ? [] : path.split("/");
}

/** Checks `h` against what came before it and adds it to `index`. Throws ImageEntryRefused. */
export function checkEntry(h: TarHeader, index: ImageIndex): void {
  const refuse = (reason: string): never => {
    throw new ImageEntryRefused(h.path, reason);
  };
  if (Buffer.byteLength(h.path) > MAX_PATH_BYTES) refuse("path too long");
  if (h.path.startsWith("/")) refuse("absolute path");
  const parts = components(h.path);
  for (const c of parts) {
    if (c === "..") refuse("'..' in the path");
    if (c === "." || c === "") refuse("empty or '.' component");
  }
  if (h.type === "char" || h.type === "block" || h.type === "fifo") refuse(`a ${h.type} device node`);
  if ((h.mode & 0o6000) !== 0) refuse("a setuid or setgid bit");
  if ((h.mode & 0o1000) !== 0 && h.type !== "dir") refuse("a sticky bit on a non-directory");
  if (h.uid !== 0 || h.gid !== 0) refuse(`owner ${h.uid}:${h.gid} (images are root:root)`);
  if (h.path === "") {
    if (h.type !== "dir") refuse("the root is not a directory");
    index.set("", { type: "dir", mode: h.mode, size: 0, linkname: "" });
    return;
  }
  if (index.has(h.path)) refuse("a duplicate entry");
  const parent = parts.slice(0, -1).join("/");
  if (index.get(parent)?.type !== "dir") refuse("its parent is not a directory earlier in the image");
  if (h.type === "hardlink") {
    const target = h.linkname.replace(/^\.\//, "");
    if (target.startsWith("/") || components(target).some((c) => c === ".." || c === "." || c === "")) refuse("a hardlink outside the image");
    if (index.get(target)?.type !== "file") refuse("a hardlink to something other than an earlier regular file");
  }
  if (h.type === "symlink") {
    if (h.linkname === "" || Buffer.byteLength(h.linkname) > MAX_PATH_BYTES) refuse("an empty or over-long symlink target");
    if (!h.linkname.startsWith("/")) {
      // path.normalize would clamp at "/", so climbing is counted component by component.
      let depth = parts.length - 1;
      for (const c of h.linkname.split("/")) {
        if (c === "..") depth -= 1;
        else if (c !== "." && c !== "") depth += 1;
        if (depth < 0) refuse("a symlink that climbs above the image's root");
      }
    }
  }
  index.set(h.path, { type: h.type, mode: h.mode, size: h.size, linkname: h.linkname });
}

/**
 * Resolves `path` (absolute, inside the image) through the index's symlinks, as the container
 * would see it; null when it does not exist or loops. Used to check a tool's program exists.
 */
export function resolveInImage(index: ImageIndex, path: string): { path: string; entry: IndexEntry } | null {
  let parts = components(posix.normalize(path).replace(/^\/+/, ""));
  for (let hops = 0; hops < 40; hops++) {
    let resolved: string[] = [];
    let restarted = false;
    for (let i = 0; i < parts.length; i++) {
      const next = [...resolved, parts[i] ?? ""].join("/");
      const e = index.get(next);
      if (e === undefined) return null;
      if (e.type === "symlink") {
        const base = e.linkname.startsWith("/") ? [] : resolved;
        parts = components(posix.normalize(posix.join("/", ...base, e.linkname, ...parts.slice(i + 1))).replace(/^\/+/, ""));
        restarted = true;
        break;
      }
      if (e.type === "hardlink") {
        resolved = components(e.linkname.replace(/^\.\//, ""));
        continue;
      }
      resolved = next === "" ? [] : next.split("/");
    }
    if (!restarted) {
      const p = resolved.join("/");
      const entry = index.get(p);
      return entry === undefined ? null : { path: `/${p}`, entry };
    }
  }
  return null;
}
