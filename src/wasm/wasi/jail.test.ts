// Hostile probes against the WASI jail: real guests, real WebAssembly.Instance, real files.
// Each asserts the outcome (errno, exactly one denial, host bytes unchanged), so each can fail.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Errno, OFlags, Rights } from "./constants.js";
import {
  CAT_WAT, ProxyGuest, SECRET, WRITE_WAT, compileWat, makeFixture, makeHost, preopen, proxyWat, runStart,
} from "./fixtures.js";
import type { Fixture } from "./fixtures.js";

const cat = await compileWat("cat", CAT_WAT);
const writer = await compileWat("writer", WRITE_WAT);
const proxy = await compileWat("proxy", proxyWat());

let fx: Fixture;
before(() => {
  fx = makeFixture();
  fs.writeFileSync(path.join(fx.jail, "file.txt"), "inside-bytes");
  fs.mkdirSync(path.join(fx.jail, "sub"));
  fs.writeFileSync(path.join(fx.jail, "sub", "inner.txt"), "inner-bytes");
  fs.symlinkSync(path.join(fx.outside, "secret.txt"), path.join(fx.jail, "flink"));
  fs.symlinkSync(fx.outside, path.join(fx.jail, "dlink"));
  fs.symlinkSync("file.txt", path.join(fx.jail, "inlink"));
  fs.symlinkSync("../../outside", path.join(fx.jail, "sub", "deep"));
  execFileSync("mkfifo", [path.join(fx.jail, "fifo")]);
});
after(() => fx.cleanup());

function catPath(p: string, writable = false): { code: number; out: string; denials: ReturnType<typeof makeHost>["denials"] } {
  const { host, denials } = makeHost([preopen(fx.jail, writable)], { stdin: Buffer.from(p) });
  try {
    const code = runStart(host, cat);
    return { code, out: Buffer.from(host.stdout()).toString(), denials };
  } finally {
    host.close();
  }
}

/** Every path and its bytes under `dir` (symlinks by target), for before/after comparison. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    out[name] = st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : st.isFile() ? fs.readFileSync(p, "hex") : st.isDirectory() ? "dir" : "other";
  }
  return out;
}

describe("escapes by path", () => {
  test("the cat guest reads an inside file (control: the probe works)", () => {
    const r = catPath("file.txt");
    assert.equal(r.code, 0);
    assert.equal(r.out, "inside-bytes");
    assert.deepEqual(r.denials, []);
  });

  for (const p of ["../secret", "/etc/passwd", "sub/../../secret", "sub/../file.txt", "..", "./../secret", "sub/./../../outside/secret.txt", "/"]) {
    test(`${JSON.stringify(p)} is ENOTCAPABLE with one ERR_WASI_PATH_ESCAPE denial`, () => {
      const r = catPath(p);
      assert.equal(r.code, Errno.NOTCAPABLE);
      assert.deepEqual(r.denials, [{ enforcer: "wasi-jail", code: "ERR_WASI_PATH_ESCAPE", op: "path_open", errno: Errno.NOTCAPABLE, path: p }]);
      assert.ok(!r.out.includes(SECRET));
      assert.ok(!r.out.includes("root:"));
    });
  }

  test("a denial carries at most 256 characters of the guest path", () => {
    const r = catPath(`../${"a".repeat(1000)}`);
    assert.equal(r.code, Errno.NOTCAPABLE);
    assert.equal(r.denials[0]?.path?.length, 256);
  });
});

describe("symlinks are never followed", () => {
  for (const p of ["flink", "dlink", "dlink/secret.txt", "inlink", "sub/deep/secret.txt", "sub/deep", "dlink/"]) {
    test(`${JSON.stringify(p)} is ELOOP with one ERR_WASI_SYMLINK denial`, () => {
      const r = catPath(p);
      assert.equal(r.code, Errno.LOOP);
      assert.deepEqual(r.denials, [{ enforcer: "wasi-jail", code: "ERR_WASI_SYMLINK", op: "path_open", errno: Errno.LOOP, path: p }]);
      assert.ok(!r.out.includes(SECRET));
    });
  }

  test("path_filestat_get refuses to follow, but may describe the link itself", () => {
    const { host, denials } = makeHost([preopen(fx.jail, false)]);
    const g = new ProxyGuest(host, proxy);
    const [ptr, len] = g.put(1024, "dlink");
    assert.equal(g.call("path_filestat_get", 3, 1, ptr, len, 2048), Errno.LOOP);
    assert.equal(denials.length, 1);
    assert.equal(denials[0]?.code, "ERR_WASI_SYMLINK");
    assert.equal(g.call("path_filestat_get", 3, 0, ptr, len, 2048), Errno.SUCCESS);
    assert.equal(g.bytes()[2048 + 16], 7); // SYMBOLIC_LINK
    const [p2, l2] = g.put(1024, "dlink/secret.txt");
    assert.equal(g.call("path_filestat_get", 3, 0, p2, l2, 2048), Errno.LOOP);
    assert.equal(denials.length, 2);
    host.close();
  });
});

describe("read-only preopens", () => {
  test("the writer guest changes nothing, one ERR_WASI_READ_ONLY denial per attempt", () => {
    const before = snapshot(fx.base);
    for (const p of ["file.txt", "new.txt", "sub/new.txt", "sub/inner.txt"]) {
      const { host, denials } = makeHost([preopen(fx.jail, false)], { stdin: Buffer.from(p) });
      assert.equal(runStart(host, writer), Errno.NOTCAPABLE, p);
      assert.deepEqual(denials, [{ enforcer: "wasi-jail", code: "ERR_WASI_READ_ONLY", op: "path_open", errno: Errno.NOTCAPABLE, path: p }]);
      host.close();
    }
    assert.deepEqual(snapshot(fx.base), before);
  });

  test("every write-shaped call is refused and the host tree stays byte-for-byte the same", () => {
    const before = snapshot(fx.base);
    const { host, denials } = makeHost([preopen(fx.jail, false)]);
    const g = new ProxyGuest(host, proxy);
    const refusals: [string, () => number][] = [
      ["write rights", () => g.open(3, "file.txt", 0, Rights.FD_WRITE)[0]],
      ["set-size rights", () => g.open(3, "file.txt", 0, Rights.FD_FILESTAT_SET_SIZE)[0]],
      ["allocate rights", () => g.open(3, "file.txt", 0, Rights.FD_ALLOCATE)[0]],
      ["append", () => g.open(3, "file.txt", 0, Rights.FD_READ, 1)[0]],
      ["truncate", () => g.open(3, "file.txt", OFlags.TRUNC)[0]],
      ["create", () => g.open(3, "made.txt", OFlags.CREAT)[0]],
      ["exclusive", () => g.open(3, "made.txt", OFlags.CREAT | OFlags.EXCL)[0]],
      ["mkdir", () => g.call("path_create_directory", 3, ...g.put(1024, "newdir"))],
      ["unlink", () => g.call("path_unlink_file", 3, ...g.put(1024, "file.txt"))],
      ["rmdir", () => g.call("path_remove_directory", 3, ...g.put(1024, "sub"))],
      ["rename", () => g.call("path_rename", 3, ...g.put(1024, "file.txt"), 3, ...g.put(1100, "moved.txt"))],
    ];
    for (const [what, attempt] of refusals) {
      const n = denials.length;
      assert.equal(attempt(), Errno.NOTCAPABLE, what);
      assert.equal(denials.length, n + 1, what);
      assert.equal(denials[n]?.code, "ERR_WASI_READ_ONLY", what);
    }

    const [e, fd] = g.open(3, "file.txt", 0, Rights.FD_READ | Rights.FD_WRITE | Rights.FD_SEEK);
    assert.equal(e, Errno.NOTCAPABLE); // write bits on a file in a read-only preopen
    const [e2, fd2] = g.open(3, "file.txt", 0, Rights.FD_READ | Rights.FD_SEEK | Rights.FD_FILESTAT_GET);
    assert.equal(e2, Errno.SUCCESS);
    assert.equal(fd, -1);
    // The host fd behind it is O_RDONLY, so even a bug here could not write.
    const hostFd = fs.readdirSync("/proc/self/fd").find((n) => {
      try { return fs.readlinkSync(`/proc/self/fd/${n}`) === path.join(fx.jail, "file.txt"); } catch { return false; }
    });
    assert.ok(hostFd !== undefined);
    const flags = fs.readFileSync(`/proc/self/fdinfo/${hostFd}`, "utf8").match(/flags:\s+([0-7]+)/)?.[1];
    assert.equal(Number.parseInt(flags ?? "1", 8) & 3, fs.constants.O_RDONLY);
    for (const [what, attempt] of [
      ["fd_write", () => g.write(fd2, "PWNED")[0]],
      ["fd_pwrite", () => g.call("fd_pwrite", fd2, 0, 1, 0n, 8)],
      ["fd_filestat_set_size", () => g.call("fd_filestat_set_size", fd2, 0n)],
    ] as const) {
      const n = denials.length;
      assert.equal(attempt(), Errno.NOTCAPABLE, what);
      assert.equal(denials.length, n + 1, what);
      assert.equal(denials[n]?.code, "ERR_WASI_READ_ONLY", what);
    }
    assert.deepEqual(g.read(fd2), [Errno.SUCCESS, "inside-bytes"]);
    host.close();
    assert.deepEqual(snapshot(fx.base), before);
  });

  test("a directory in a read-only preopen opens and lists", () => {
    const { host, denials } = makeHost([preopen(fx.jail, false)]);
    const g = new ProxyGuest(host, proxy);
    const [e, fd] = g.open(3, "sub", OFlags.DIRECTORY, Rights.FD_READDIR | Rights.PATH_OPEN, 0, Rights.FD_READ);
    assert.equal(e, Errno.SUCCESS);
    assert.deepEqual(g.read(g.open(fd, "inner.txt")[1]), [Errno.SUCCESS, "inner-bytes"]);
    assert.equal(denials.length, 0);
    // Rights only narrow: a directory opened without inheritable FD_WRITE cannot hand it out.
    const [e2, fd2] = g.open(3, "sub", OFlags.DIRECTORY, Rights.PATH_OPEN);
    assert.equal(e2, Errno.SUCCESS);
    const [e3, f3] = g.open(fd2, "inner.txt", 0, Rights.FD_READ);
    assert.equal(e3, Errno.SUCCESS);
    assert.equal(g.read(f3)[0], Errno.NOTCAPABLE);
    assert.equal(denials[0]?.code, "ERR_WASI_NOT_CAPABLE");
    host.close();
  });
});

describe("creating through a dangling symlink", () => {
  test("O_CREAT on a symlink to a missing outside file creates nothing outside", () => {
    const dir = fs.mkdtempSync(path.join(fx.base, "dangle-"));
    fs.symlinkSync(path.join(fx.outside, "planted.txt"), path.join(dir, "dangling"));
    fs.symlinkSync(fx.outside, path.join(dir, "dirlink"));
    for (const p of ["dangling", "dirlink/planted.txt"]) {
      const { host, denials } = makeHost([preopen(dir, true)], { stdin: Buffer.from(p) });
      assert.equal(runStart(host, writer), Errno.LOOP, p);
      assert.deepEqual(denials.map((d) => d.code), ["ERR_WASI_SYMLINK"]);
      host.close();
    }
    assert.ok(!fs.existsSync(path.join(fx.outside, "planted.txt")));
  });

  test("the writer guest does create a file in a writable preopen (control)", () => {
    const dir = fs.mkdtempSync(path.join(fx.base, "made-"));
    const { host, denials } = makeHost([preopen(dir, true)], { stdin: Buffer.from("made.txt") });
    assert.equal(runStart(host, writer), 0);
    assert.equal(fs.readFileSync(path.join(dir, "made.txt"), "utf8"), "PWNED");
    assert.equal(denials.length, 0);
    host.close();
  });
});

describe("special files", () => {
  test("a FIFO planted in the jail is refused without blocking (read and write)", () => {
    const started = Date.now();
    const r = catPath("fifo");
    assert.equal(r.code, Errno.ACCES);
    assert.deepEqual(r.denials, [{ enforcer: "wasi-jail", code: "ERR_WASI_FILE_TYPE", op: "path_open", errno: Errno.ACCES, path: "fifo" }]);
    const { host, denials } = makeHost([preopen(fx.jail, true)]);
    const g = new ProxyGuest(host, proxy);
    assert.equal(g.open(3, "fifo", 0, Rights.FD_WRITE)[0], Errno.ACCES);
    assert.equal(g.open(3, "fifo", OFlags.CREAT, Rights.FD_WRITE)[0], Errno.ACCES);
    assert.equal(denials.length, 2);
    host.close();
    assert.ok(Date.now() - started < 2000);
  });
});

describe("writable preopens", () => {
  test("create, write, seek, pread/pwrite, truncate, rename, unlink, mkdir, rmdir", () => {
    const dir = fs.mkdtempSync(path.join(fx.base, "rw-"));
    const { host, denials } = makeHost([preopen(dir, true, "/work")]);
    const g = new ProxyGuest(host, proxy);
    const rw = Rights.FD_READ | Rights.FD_WRITE | Rights.FD_SEEK | Rights.FD_TELL | Rights.FD_FILESTAT_GET | Rights.FD_FILESTAT_SET_SIZE;
    assert.equal(g.call("path_create_directory", 3, ...g.put(1024, "d")), Errno.SUCCESS);
    assert.equal(g.call("path_create_directory", 3, ...g.put(1024, "d")), Errno.EXIST);
    const [e, fd] = g.open(3, "d/a.txt", OFlags.CREAT | OFlags.EXCL, rw);
    assert.equal(e, Errno.SUCCESS);
    assert.equal(g.open(3, "d/a.txt", OFlags.CREAT | OFlags.EXCL, rw)[0], Errno.EXIST);
    assert.deepEqual(g.write(fd, "hello world"), [Errno.SUCCESS, 11]);
    assert.equal(g.call("fd_tell", fd, 64), Errno.SUCCESS);
    assert.equal(g.u64(64), 11n);
    assert.equal(g.call("fd_seek", fd, 6n, 0, 64), Errno.SUCCESS);
    assert.deepEqual(g.read(fd), [Errno.SUCCESS, "world"]);
    assert.equal(g.call("fd_seek", fd, -3n, 2, 64), Errno.SUCCESS);
    assert.equal(g.u64(64), 8n);
    assert.equal(g.call("fd_seek", fd, -100n, 1, 64), Errno.INVAL);
    g.put(8192, "HELLO");
    new DataView(g.memory.buffer).setUint32(0, 8192, true);
    new DataView(g.memory.buffer).setUint32(4, 5, true);
    assert.equal(g.call("fd_pwrite", fd, 0, 1, 0n, 8), Errno.SUCCESS);
    assert.equal(g.call("fd_pread", fd, 0, 1, 6n, 8), Errno.SUCCESS);
    assert.equal(g.text(8192, g.u32(8)), "world");
    assert.equal(g.call("fd_filestat_set_size", fd, 5n), Errno.SUCCESS);
    assert.equal(g.call("fd_filestat_get", fd, 256), Errno.SUCCESS);
    assert.equal(g.u64(256 + 32), 5n);
    assert.equal(g.bytes()[256 + 16], 4); // REGULAR_FILE
    assert.equal(g.call("fd_close", fd), Errno.SUCCESS);
    assert.equal(fs.readFileSync(path.join(dir, "d", "a.txt"), "utf8"), "HELLO");

    const [ea, fa] = g.open(3, "d/a.txt", 0, Rights.FD_WRITE, 1);
    assert.equal(ea, Errno.SUCCESS);
    assert.deepEqual(g.write(fa, "++"), [Errno.SUCCESS, 2]);
    assert.equal(fs.readFileSync(path.join(dir, "d", "a.txt"), "utf8"), "HELLO++");
    assert.equal(g.call("fd_close", fa), Errno.SUCCESS);

    assert.equal(g.call("path_rename", 3, ...g.put(1024, "d/a.txt"), 3, ...g.put(1100, "b.txt")), Errno.SUCCESS);
    assert.equal(fs.readFileSync(path.join(dir, "b.txt"), "utf8"), "HELLO++");
    assert.equal(g.call("path_remove_directory", 3, ...g.put(1024, "d")), Errno.SUCCESS);
    assert.equal(g.call("path_unlink_file", 3, ...g.put(1024, "b.txt")), Errno.SUCCESS);
    assert.equal(g.call("path_unlink_file", 3, ...g.put(1024, "b.txt")), Errno.NOENT);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.deepEqual(denials, []);
    host.close();
  });

  test("rename cannot leave the preopen, or cross into another one", () => {
    const a = fs.mkdtempSync(path.join(fx.base, "ra-"));
    const b = fs.mkdtempSync(path.join(fx.base, "rb-"));
    fs.writeFileSync(path.join(a, "f"), "x");
    const { host, denials } = makeHost([preopen(a, true, "/a"), preopen(b, true, "/b")]);
    const g = new ProxyGuest(host, proxy);
    assert.equal(g.call("path_rename", 3, ...g.put(1024, "f"), 3, ...g.put(1100, "../f")), Errno.NOTCAPABLE);
    assert.equal(g.call("path_rename", 3, ...g.put(1024, "f"), 4, ...g.put(1100, "f")), Errno.XDEV);
    assert.deepEqual(denials.map((d) => d.code), ["ERR_WASI_PATH_ESCAPE", "ERR_WASI_NOT_CAPABLE"]);
    assert.deepEqual(fs.readdirSync(a), ["f"]);
    assert.deepEqual(fs.readdirSync(b), []);
    host.close();
  });
});

describe("defence in depth: readlink(/proc/self/fd/N) must stay under the root", () => {
  test("a directory fd whose directory a host process moved out of the jail reaches nothing", () => {
    const dir = fs.mkdtempSync(path.join(fx.base, "mv-"));
    fs.mkdirSync(path.join(dir, "m"));
    fs.writeFileSync(path.join(dir, "m", "x.txt"), "moved-bytes");
    const { host, denials } = makeHost([preopen(dir, true, "/w")]);
    const g = new ProxyGuest(host, proxy);
    const dirRights = Rights.PATH_OPEN | Rights.PATH_CREATE_DIRECTORY | Rights.PATH_FILESTAT_GET;
    const [e, fd] = g.open(3, "m", OFlags.DIRECTORY, dirRights, 0, Rights.FD_READ);
    assert.equal(e, Errno.SUCCESS);
    assert.deepEqual(g.read(g.open(fd, "x.txt")[1]), [Errno.SUCCESS, "moved-bytes"]); // control
    fs.renameSync(path.join(dir, "m"), path.join(fx.outside, "m"));
    assert.equal(g.open(fd, "x.txt")[0], Errno.NOTCAPABLE);
    assert.equal(g.call("path_create_directory", fd, ...g.put(1024, "made")), Errno.NOTCAPABLE);
    assert.equal(g.call("path_filestat_get", fd, 0, ...g.put(1024, "x.txt"), 2048), Errno.NOTCAPABLE);
    assert.deepEqual(denials.map((d) => d.code), ["ERR_WASI_PATH_ESCAPE", "ERR_WASI_PATH_ESCAPE", "ERR_WASI_PATH_ESCAPE"]);
    assert.deepEqual(fs.readdirSync(path.join(fx.outside, "m")), ["x.txt"]);
    host.close();
  });
});

describe("path_open semantics", () => {
  test("type mismatches are plain errors, not denials", () => {
    const { host, denials } = makeHost([preopen(fx.jail, true)]);
    const g = new ProxyGuest(host, proxy);
    assert.equal(g.open(3, "file.txt", OFlags.DIRECTORY)[0], Errno.NOTDIR);
    assert.equal(g.open(3, "file.txt/")[0], Errno.NOTDIR);
    assert.equal(g.open(3, "file.txt/x")[0], Errno.NOTDIR);
    assert.equal(g.open(3, "sub", 0, Rights.FD_WRITE)[0], Errno.ISDIR);
    assert.equal(g.open(3, "missing/x")[0], Errno.NOENT);
    assert.equal(g.open(3, "")[0], Errno.NOENT);
    assert.equal(g.open(3, "a\0b")[0], Errno.INVAL);
    assert.equal(g.open(3, "x".repeat(300))[0], Errno.NAMETOOLONG);
    assert.equal(g.open(3, "sub", OFlags.CREAT | OFlags.EXCL)[0], Errno.EXIST);
    const [e, fd] = g.open(3, ".", OFlags.DIRECTORY, Rights.FD_READDIR);
    assert.equal(e, Errno.SUCCESS);
    assert.equal(g.call("fd_read", fd, 0, 0, 8), Errno.ISDIR);
    assert.equal(denials.length, 0);
    host.close();
  });
});
