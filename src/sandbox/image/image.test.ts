import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkEntry, newIndex, resolveInImage } from "./image-rules.js";
import { ensureImage, scanImage, storedImage } from "./image-store.js";
import { CORDON_MOUNT_POINTS, normalizeImage } from "./normalize-image.js";
import { encodeHeader, END_OF_ARCHIVE, padding, readTar, TarParser, type TarHeader } from "./tar.js";

type Spec = Partial<TarHeader> & { path: string; data?: string };

function header(s: Spec): TarHeader {
  const data = s.data ?? "";
  return { type: "file", mode: 0o644, uid: 0, gid: 0, size: Buffer.byteLength(data), mtime: 1_700_000_000, linkname: "", devmajor: 0, devminor: 0, ...s };
}

/** A tar in cordon's normalised form, entries as given (no sorting, no checks). */
function tar(specs: readonly Spec[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of specs) {
    const h = header(s);
    parts.push(...encodeHeader(h));
    if (h.type === "file" && h.size > 0) parts.push(Buffer.from(s.data ?? ""), padding(h.size));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const ROOT: Spec = { path: "", type: "dir", mode: 0o755 };
const GOOD: Spec[] = [ROOT, { path: "bin", type: "symlink", linkname: "usr/bin" }, { path: "usr", type: "dir", mode: 0o755 }, { path: "usr/bin", type: "dir", mode: 0o755 }, { path: "usr/bin/tool", mode: 0o755, data: "#!/bin/true\n" }, { path: "usr/bin/tool2", type: "hardlink", linkname: "usr/bin/tool" }, { path: "etc", type: "dir", mode: 0o755 }, { path: "etc/cc", type: "symlink", linkname: "/usr/bin/tool" }];

function refusal(specs: readonly Spec[]): string {
  const index = newIndex();
  try {
    for (const e of readTar(tar(specs))) checkEntry(e.header, index);
    return "accepted";
  } catch (err) {
    return (err as { code?: string; reason?: string }).reason ?? (err as { code?: string }).code ?? "error";
  }
}

describe("tar reader and writer", () => {
  it("reads back what the writer wrote, long names included, in pieces of any size", () => {
    const long = `usr/${"d".repeat(120)}/file`;
    const bytes = tar([ROOT, { path: "usr", type: "dir" }, { path: `usr/${"d".repeat(120)}`, type: "dir" }, { path: long, data: "x".repeat(1000) }, { path: "l", type: "symlink", linkname: `/${"t".repeat(150)}` }]);
    const all = readTar(bytes);
    assert.deepEqual(all.map((e) => e.header.path), ["", "usr", `usr/${"d".repeat(120)}`, long, "l"]);
    assert.equal(all[3]?.data.toString(), "x".repeat(1000));
    assert.equal(all[4]?.header.linkname, `/${"t".repeat(150)}`);
    for (const step of [1, 7, 512, 513, 4096]) {
      const seen: string[] = [];
      const p = new TarParser((h) => seen.push(h.path), () => undefined);
      for (let i = 0; i < bytes.length; i += step) p.push(bytes.subarray(i, i + step));
      p.finish();
      assert.deepEqual(seen, all.map((e) => e.header.path), `step ${step}`);
    }
  });

  it("refuses a flipped header bit (checksum), a truncated archive and an unknown entry type", () => {
    const bytes = tar(GOOD);
    const flipped = Buffer.from(bytes);
    flipped[10] = (flipped[10] ?? 0) ^ 0x01;
    assert.throws(() => readTar(flipped), { code: "ERR_IMAGE_MALFORMED" });
    assert.throws(() => readTar(bytes.subarray(0, bytes.length - 1536)), { code: "ERR_IMAGE_MALFORMED" });
    const odd = Buffer.from(tar([ROOT]));
    odd[156] = "S".charCodeAt(0); // GNU sparse
    let sum = 0;
    odd.fill(32, 148, 156);
    for (let i = 0; i < 512; i++) sum += odd[i] ?? 0;
    odd.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    assert.throws(() => readTar(odd), { code: "ERR_IMAGE_MALFORMED" });
  });
});

describe("image entry rules", () => {
  it("accepts a plain tree with links that stay inside", () => assert.equal(refusal(GOOD), "accepted"));
  it("refuses absolute paths and '..'", () => {
    assert.equal(refusal([ROOT, { path: "/etc/passwd" }]), "absolute path");
    assert.equal(refusal([ROOT, { path: "usr", type: "dir" }, { path: "usr/../../etc/x" }]), "'..' in the path");
  });
  it("refuses device nodes, fifos, setuid and setgid bits, and owners other than root", () => {
    assert.equal(refusal([ROOT, { path: "null", type: "char", devmajor: 1, devminor: 3 }]), "a char device node");
    assert.equal(refusal([ROOT, { path: "p", type: "fifo" }]), "a fifo device node");
    assert.equal(refusal([ROOT, { path: "su", mode: 0o4755 }]), "a setuid or setgid bit");
    assert.equal(refusal([ROOT, { path: "sg", mode: 0o2755 }]), "a setuid or setgid bit");
    // (cordon's writer only writes root:root, so a foreign owner is checked on the header itself)
    assert.throws(() => checkEntry(header({ path: "f", uid: 1000 }), newIndex()), { code: "ERR_IMAGE_REFUSED", reason: "owner 1000:0 (images are root:root)" });
  });
  it("refuses writing through a symlink, a link escaping the root, a hardlink to a later or outside file, duplicates", () => {
    assert.equal(refusal([ROOT, { path: "etc", type: "symlink", linkname: "/etc" }, { path: "etc/passwd", data: "x" }]), "its parent is not a directory earlier in the image");
    assert.equal(refusal([ROOT, { path: "a", type: "dir" }, { path: "a/up", type: "symlink", linkname: "../../etc" }]), "a symlink that climbs above the image's root");
    assert.equal(refusal([ROOT, { path: "h", type: "hardlink", linkname: "../etc/shadow" }]), "a hardlink outside the image");
    assert.equal(refusal([ROOT, { path: "h", type: "hardlink", linkname: "later" }, { path: "later" }]), "a hardlink to something other than an earlier regular file");
    assert.equal(refusal([ROOT, { path: "f" }, { path: "f" }]), "a duplicate entry");
  });
  it("resolves a program through the image's own symlinks", () => {
    const index = newIndex();
    for (const e of readTar(tar(GOOD))) checkEntry(e.header, index);
    assert.equal(resolveInImage(index, "/bin/tool")?.path, "/usr/bin/tool");
    assert.equal(resolveInImage(index, "/etc/cc")?.path, "/usr/bin/tool");
    assert.equal(resolveInImage(index, "/usr/bin/missing"), null);
  });
});

describe("normalizeImage", () => {
  it("drops device nodes, clears setuid/setgid, sorts, owns by root, clamps mtimes, adds cordon's mount points", () => {
    const raw = tar([
      { path: "dev", type: "dir" },
      { path: "dev/null", type: "char", devmajor: 1, devminor: 3 },
      ROOT,
      { path: "usr", type: "dir", uid: 0, gid: 50, mode: 0o2775 },
      { path: "usr/su", mode: 0o4755, data: "su", mtime: 2_000_000_000 },
    ]);
    const n = normalizeImage(raw, { mtime: 1_700_000_000, ...CORDON_MOUNT_POINTS });
    assert.deepEqual(n.dropped, ["dev/null"]);
    assert.deepEqual([...n.cleared].sort(), ["usr", "usr/su"]);
    const out = readTar(Buffer.concat(n.chunks));
    const paths = out.map((e) => e.header.path);
    assert.deepEqual(paths, ["", ".cordon", ".cordon/probe", ".cordon/seccomp-exec", "dev", "usr", "usr/su", "workspace"]);
    for (const e of out) {
      assert.equal(e.header.uid + e.header.gid, 0);
      assert.equal(e.header.mode & 0o6000, 0);
      assert.ok(e.header.mtime <= 1_700_000_000);
    }
    // The same input gives the same bytes.
    assert.equal(sha(Buffer.concat(normalizeImage(raw, { mtime: 1_700_000_000, ...CORDON_MOUNT_POINTS }).chunks)), sha(Buffer.concat(n.chunks)));
  });
});

describe("image store", () => {
  const dir = mkdtempSync(join(tmpdir(), "cordon-image-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const root = process.getuid?.() === 0;

  it("unpacks the checked bytes into a content-addressed directory, once", { skip: !root && "unpacking into the root-owned store needs root (refusal tested below)" }, () => {
    const bytes = tar(GOOD);
    const path = join(dir, "good.tar");
    writeFileSync(path, bytes);
    const store = join(dir, "store");
    const scan = scanImage(path);
    assert.equal(scan.sha256, sha(bytes));
    const u = ensureImage(path, scan.sha256, store);
    assert.equal(u.unpacked, true);
    assert.equal(readFileSync(join(u.rootfs, "usr/bin/tool"), "utf8"), "#!/bin/true\n");
    assert.equal(statSync(join(u.rootfs, "usr/bin/tool")).mode & 0o7777, 0o755);
    assert.equal(readlinkSync(join(u.rootfs, "etc/cc")), "/usr/bin/tool");
    assert.equal(statSync(join(u.rootfs, "usr/bin/tool2")).ino, statSync(join(u.rootfs, "usr/bin/tool")).ino);
    assert.equal(storedImage(store, scan.sha256), u.rootfs);
    assert.equal(ensureImage(path, scan.sha256, store).unpacked, false);
  });

  it("keeps nothing when the digest does not match, and writes nothing outside the image for an escaping entry", { skip: !root && "needs root" }, () => {
    const store = join(dir, "store2");
    const path = join(dir, "bad.tar");
    writeFileSync(path, tar(GOOD));
    assert.throws(() => ensureImage(path, "0".repeat(64), store), { code: "ERR_ARTIFACT_DIGEST_MISMATCH" });
    assert.deepEqual(readdirSync(store), []);
    const victim = join(dir, "victim");
    writeFileSync(victim, "unchanged");
    const escape = join(dir, "escape.tar");
    const bytes = tar([ROOT, { path: "out", type: "symlink", linkname: dir }, { path: "out/victim", data: "pwned" }]);
    writeFileSync(escape, bytes);
    assert.throws(() => ensureImage(escape, sha(bytes), store), { code: "ERR_IMAGE_REFUSED" });
    assert.equal(readFileSync(victim, "utf8"), "unchanged");
    assert.deepEqual(readdirSync(store), []);
    assert.ok(!existsSync(join(store, sha(bytes))));
    assert.ok(lstatSync(victim).isFile());
  });

  it("refuses to unpack without root", { skip: root && "running as root: unpacking is tested above" }, () => {
    const path = join(dir, "r.tar");
    const bytes = tar(GOOD);
    writeFileSync(path, bytes);
    assert.throws(() => ensureImage(path, sha(bytes), join(dir, "store3")), { code: "ERR_TIER_UNAVAILABLE" });
  });
});
