import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { mountOptionsOf, mountTmpfs, tmpfsArgs, unmountTmpfs, usage, writableDirProblem } from "./tmpfs.js";

void test("the mount is planned as data: size, inodes, owner, and noexec unless exec is granted", () => {
  assert.deepEqual(tmpfsArgs("/w", { sizeBytes: 1 << 20, inodes: 64, uid: 5, gid: 6, exec: false }), [
    "-t", "tmpfs", "-o", "nosuid,nodev,noexec,size=1048576,nr_inodes=64,mode=0700,uid=5,gid=6", "cordon-ws", "/w",
  ]);
  assert.match(tmpfsArgs("/w", { sizeBytes: 1, inodes: 1, uid: 1, gid: 1, exec: true })[3] ?? "", /^nosuid,nodev,exec,/);
});

void test("mountinfo: the longest mount point above a path decides, and escapes are read", () => {
  const info = [
    "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
    "30 22 0:40 / /tmp/a rw,nosuid,nodev,noexec - tmpfs x rw",
    "31 22 0:41 / /tmp/a\\040b rw,nosuid - tmpfs y rw",
  ].join("\n");
  assert.ok(mountOptionsOf("/tmp/a/x", info).includes("noexec"));
  assert.ok(!mountOptionsOf("/tmp/ab", info).includes("noexec"), "a sibling prefix is not under the mount");
  assert.deepEqual(mountOptionsOf("/tmp/a b/c", info), ["rw", "nosuid"]);
  assert.deepEqual(mountOptionsOf("/etc", info), ["rw", "relatime"]);
});

void test("a writable directory on the host's disk is refused; a capped noexec tmpfs is accepted and full at its size", () => {
  if (process.getuid?.() !== 0) {
    // Not root here: mounting is refused, typed, and so the process tier refuses its calls.
    assert.throws(() => mountTmpfs(tmpdir(), { sizeBytes: 1 << 20, inodes: 16, uid: 0, gid: 0, exec: false }), { code: "ERR_TIER_UNAVAILABLE" });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "cordon-tmpfs-test-"));
  try {
    assert.match(writableDirProblem(dir, { maxBytes: 1 << 20, noexec: true })?.reason ?? "", /more than limits.disk/);
    mountTmpfs(dir, { sizeBytes: 256 * 1024, inodes: 16, uid: 0, gid: 0, exec: false });
    try {
      assert.equal(writableDirProblem(dir, { maxBytes: 1 << 20, noexec: true }), null);
      assert.match(writableDirProblem(dir, { maxBytes: 64 * 1024, noexec: true })?.reason ?? "", /more than limits.disk/);
      assert.throws(() => writeFileSync(join(dir, "big"), Buffer.alloc(512 * 1024)), { code: "ENOSPC" });
      assert.equal(usage(dir).freeBytes, 0);
    } finally {
      assert.equal(unmountTmpfs(dir), true);
    }
    mountTmpfs(dir, { sizeBytes: 256 * 1024, inodes: 16, uid: 0, gid: 0, exec: true });
    try {
      assert.match(writableDirProblem(dir, { maxBytes: 1 << 20, noexec: true })?.what ?? "", /exec/);
      assert.equal(writableDirProblem(dir, { maxBytes: 1 << 20, noexec: false }), null);
    } finally {
      unmountTmpfs(dir);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
