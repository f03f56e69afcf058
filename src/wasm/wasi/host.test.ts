// WasiHost outside the jail proper: the import catalog, guest pointers, output caps, env,
// args, clocks, random, descriptor limits, readdir, unsupported calls, cleanup.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { AuditWriteFailed, LimitExceeded, PreopenUnavailable } from "../../errors.js";
import { WASI_IMPORT_NEEDS, WASI_IMPORT_SIGNATURES } from "./catalog.js";
import { Errno, OFlags, Rights } from "./constants.js";
import { WasiExit } from "./exit.js";
import { ProxyGuest, compileWat, makeFixture, makeHost, openFdCount, preopen, proxyWat } from "./fixtures.js";
import type { Fixture } from "./fixtures.js";

const proxy = await compileWat("proxy", proxyWat());
const OOB = 70_000; // past the proxy's single 64 KiB page

let fx: Fixture;
before(() => {
  fx = makeFixture();
  fs.writeFileSync(path.join(fx.jail, "a.txt"), "alpha");
  fs.mkdirSync(path.join(fx.jail, "dir"));
  fs.symlinkSync(fx.outside, path.join(fx.jail, "link"));
});
after(() => fx.cleanup());

function guest(over: Parameters<typeof makeHost>[1] = {}, writable = false): ReturnType<typeof makeHost> & { g: ProxyGuest } {
  const h = makeHost([preopen(fx.jail, writable)], over);
  return { ...h, g: new ProxyGuest(h.host, proxy) };
}

describe("catalog", () => {
  test("classifies all 46 preview1 functions and implements every one", () => {
    assert.equal(WASI_IMPORT_NEEDS.size, 46);
    assert.deepEqual([...WASI_IMPORT_SIGNATURES.keys()], [...WASI_IMPORT_NEEDS.keys()]);
    const { host } = makeHost([]);
    const imports = host.imports();
    assert.deepEqual(Object.keys(imports).sort(), [...WASI_IMPORT_NEEDS.keys()].sort());
    assert.equal(Object.getPrototypeOf(imports), null); // no `constructor`, `toString` to import
    const by = (need: string): string[] => [...WASI_IMPORT_NEEDS].filter(([, n]) => n === need).map(([k]) => k).sort();
    assert.deepEqual(by("env"), ["environ_get", "environ_sizes_get"]);
    assert.deepEqual(by("clock"), ["clock_res_get", "clock_time_get"]);
    assert.deepEqual(by("random"), ["random_get"]);
    assert.deepEqual(by("never"), ["sock_accept", "sock_recv", "sock_send", "sock_shutdown"]);
    assert.ok(by("fs").every((n) => n.startsWith("path_") || n === "fd_readdir"));
    assert.ok(by("base").every((n) => !n.startsWith("path_") && n !== "fd_readdir"));
    host.close();
  });

  test("unimplemented functions return ENOSYS/ENOTCAPABLE with exactly one denial each", () => {
    const { host, denials, g } = guest();
    const cases: [string, (number | bigint)[], number, string][] = [
      ["fd_advise", [3, 0n, 0n, 0], Errno.NOSYS, "wasi-jail"],
      ["fd_allocate", [3, 0n, 1n], Errno.NOSYS, "wasi-jail"],
      ["fd_renumber", [3, 4], Errno.NOSYS, "wasi-jail"],
      ["fd_fdstat_set_rights", [3, 0n, 0n], Errno.NOSYS, "wasi-jail"],
      ["fd_filestat_set_times", [3, 0n, 0n, 0], Errno.NOSYS, "wasi-jail"],
      ["path_filestat_set_times", [3, 0, 0, 1, 0n, 0n, 0], Errno.NOSYS, "wasi-jail"],
      ["path_link", [3, 0, 0, 1, 3, 8, 1], Errno.NOTCAPABLE, "wasi-jail"],
      ["path_symlink", [0, 1, 3, 8, 1], Errno.NOTCAPABLE, "wasi-jail"],
      ["path_readlink", [3, 0, 1, 8, 8, 16], Errno.NOTCAPABLE, "wasi-jail"],
      ["poll_oneoff", [0, 64, 1, 128], Errno.NOSYS, "wasi-jail"],
      ["proc_raise", [9], Errno.NOSYS, "wasi-jail"],
      ["sock_accept", [3, 0, 8], Errno.NOSYS, "wasi-jail"],
      ["sock_recv", [3, 0, 1, 0, 8, 12], Errno.NOSYS, "wasi-jail"],
      ["sock_send", [3, 0, 1, 0, 8], Errno.NOSYS, "wasi-jail"],
      ["sock_shutdown", [3, 0], Errno.NOSYS, "wasi-jail"],
    ];
    for (const [name, args, errno, enforcer] of cases) {
      const n = denials.length;
      assert.equal(g.call(name, ...args), errno, name);
      assert.equal(denials.length, n + 1, name);
      assert.equal(denials[n]?.op, name);
      assert.equal(denials[n]?.enforcer, enforcer);
    }
    assert.equal(g.call("sched_yield"), Errno.SUCCESS);
    host.close();
  });
});

describe("guest pointers", () => {
  test("out-of-bounds pointers are EFAULT, never a JS exception, and change nothing", () => {
    const { host, g } = guest({ args: ["tool"], stdin: Buffer.from("in") }, true);
    const [p, l] = g.put(1024, "a.txt");
    const calls: [string, (number | bigint)[]][] = [
      ["args_sizes_get", [OOB, 0]],
      ["args_get", [0, OOB]],
      ["args_get", [0xfffffffc, 8]],
      ["environ_sizes_get", [0, OOB]],
      ["clock_time_get", [0, 0n, OOB]],
      ["clock_time_get", [0, 0n, 65_533]], // straddles the end
      ["random_get", [65_000, 1000]],
      ["random_get", [0xfffffff0, 0x100]],
      ["fd_read", [0, OOB, 1, 8]],
      ["fd_write", [1, 0xfffffff8, 1, 8]],
      ["fd_fdstat_get", [3, OOB]],
      ["fd_filestat_get", [3, OOB]],
      ["fd_prestat_get", [3, OOB]],
      ["fd_prestat_dir_name", [3, 65_534, 5]],
      ["path_open", [3, 0, OOB, 4, 0, 2n, 0n, 0, 16]],
      ["path_open", [3, 0, p, l, 0, 2n, 0n, 0, OOB]],
      ["path_open", [3, 0, 65_530, 0xffff, 0, 2n, 0n, 0, 16]],
      ["path_filestat_get", [3, 0, p, l, OOB]],
      ["path_create_directory", [3, OOB, 3]],
      ["fd_readdir", [3, 65_000, 4096, 0n, 8]],
    ];
    const [, file] = g.open(3, "a.txt", 0, Rights.FD_READ | Rights.FD_SEEK);
    calls.push(["fd_seek", [file, 0n, 0, OOB]], ["fd_tell", [file, 65_535]], ["fd_pread", [file, 0, 1, 0n, OOB]]);
    const fdsBefore = openFdCount();
    assert.ok(file > 3);
    for (const [name, args] of calls) assert.equal(g.call(name, ...args), Errno.FAULT, `${name}(${args.join(",")})`);
    assert.equal(openFdCount(), fdsBefore, "a faulting path_open leaked a host fd");
    // An iovec whose buffer is out of bounds: nothing is consumed from stdin.
    const dv = new DataView(g.memory.buffer);
    dv.setUint32(0, OOB, true);
    dv.setUint32(4, 2, true);
    assert.equal(g.call("fd_read", 0, 0, 1, 8), Errno.FAULT);
    assert.deepEqual(g.read(0), [Errno.SUCCESS, "in"]);
    // Writing stdout with a bad iovec leaves stdout empty.
    assert.equal(g.call("fd_write", 1, 0, 1, 8), Errno.SUCCESS); // iovec {8192, 4096} from read() is fine
    dv.setUint32(0, 0xfffffff0, true);
    assert.equal(g.call("fd_write", 1, 0, 1, 8), Errno.FAULT);
    assert.equal(host.stdout().length, 4096);
    assert.deepEqual(fs.readdirSync(fx.jail).sort(), ["a.txt", "dir", "link"]);
    host.close();
  });

  test("memory growth is seen: a pointer valid only after memory.grow works", () => {
    const { host, g } = guest();
    assert.equal(g.call("args_sizes_get", OOB, OOB + 4), Errno.FAULT);
    g.memory.grow(1);
    assert.equal(g.call("args_sizes_get", OOB, OOB + 4), Errno.SUCCESS);
    host.close();
  });
});

describe("stdio", () => {
  test("stdout past its cap throws LimitExceeded('output'); stderr is truncated silently", () => {
    const { host, g } = guest({ stdoutCap: 10, stderrCap: 4 });
    assert.deepEqual(g.write(1, "0123456789"), [Errno.SUCCESS, 10]);
    assert.deepEqual(g.write(2, "abcdefgh"), [Errno.SUCCESS, 8]);
    assert.equal(Buffer.from(host.stderr()).toString(), "abcd");
    assert.throws(() => g.write(1, "x"), (e: unknown) =>
      e instanceof LimitExceeded && e.limit === "output" && e.used === 11 && e.max === 10);
    assert.equal(Buffer.from(host.stdout()).toString(), "0123456789");
    // A guest that swallowed the exception (Wasm exception handling) gets no further I/O.
    assert.throws(() => g.write(2, "more"), LimitExceeded);
    assert.throws(() => g.call("sched_yield"), LimitExceeded);
    host.close();
  });

  test("stdin is read from the given buffer, then EOF; stdio cannot seek", () => {
    const { host, g } = guest({ stdin: Buffer.from("hello") });
    assert.deepEqual(g.read(0, 3), [Errno.SUCCESS, "hel"]);
    assert.deepEqual(g.read(0), [Errno.SUCCESS, "lo"]);
    assert.deepEqual(g.read(0), [Errno.SUCCESS, ""]);
    assert.equal(g.call("fd_seek", 0, 0n, 0, 64), Errno.SPIPE);
    host.close();
  });
});

describe("grants", () => {
  test("environ exposes only opts.env, never process.env", () => {
    process.env.CORDON_WASI_CANARY = "canary-7f3a";
    try {
      const { host, g } = guest({ env: { GRANTED: "yes" } });
      assert.equal(g.call("environ_sizes_get", 0, 4), Errno.SUCCESS);
      assert.equal(g.u32(0), 1);
      assert.equal(g.call("environ_get", 64, 128), Errno.SUCCESS);
      assert.equal(g.u32(64), 128);
      assert.equal(g.text(128, g.u32(4)), "GRANTED=yes\0");
      assert.ok(!Buffer.from(g.bytes()).includes("canary-7f3a"));
      host.close();
    } finally {
      delete process.env.CORDON_WASI_CANARY;
    }
  });

  test("args are laid out as argv pointers + NUL-terminated strings", () => {
    const { host, g } = guest({ args: ["tool", "--x=ü"] });
    assert.equal(g.call("args_sizes_get", 0, 4), Errno.SUCCESS);
    assert.deepEqual([g.u32(0), g.u32(4)], [2, 5 + 7]);
    assert.equal(g.call("args_get", 64, 128), Errno.SUCCESS);
    assert.equal(g.text(g.u32(64), 4), "tool");
    assert.equal(g.text(g.u32(68), 6), "--x=ü");
    host.close();
  });

  test("clocks follow opts.now, monotonic never goes back, cputime and ungranted are refused", () => {
    let t = 5_000n;
    const { host, denials, g } = guest({ now: () => t });
    assert.equal(g.call("clock_time_get", 0, 0n, 64), Errno.SUCCESS);
    assert.equal(g.u64(64), 5_000n);
    t = 3_000n;
    assert.equal(g.call("clock_time_get", 1, 0n, 64), Errno.SUCCESS);
    assert.equal(g.u64(64), 3_000n);
    t = 1_000n;
    assert.equal(g.call("clock_time_get", 1, 0n, 64), Errno.SUCCESS);
    assert.equal(g.u64(64), 3_000n);
    assert.equal(g.call("clock_res_get", 1, 64), Errno.SUCCESS);
    assert.equal(g.call("clock_time_get", 2, 0n, 64), Errno.NOTSUP);
    assert.equal(g.call("clock_time_get", 9, 0n, 64), Errno.INVAL);
    assert.deepEqual(denials.map((d) => [d.enforcer, d.op]), [["wasi-clock", "clock_time_get"]]);
    host.close();
    const off = guest({ clock: false });
    assert.equal(off.g.call("clock_time_get", 0, 0n, 64), Errno.NOTCAPABLE);
    assert.equal(off.g.call("clock_res_get", 0, 64), Errno.NOTCAPABLE);
    assert.deepEqual(off.denials.map((d) => d.code), ["ERR_WASI_NOT_CAPABLE", "ERR_WASI_NOT_CAPABLE"]);
    off.host.close();
  });

  test("random_get fills through randomFill in chunks, and is refused without the grant", () => {
    const sizes: number[] = [];
    const { host, g } = guest({ randomFill: (b) => { sizes.push(b.length); b.fill(0xab); } });
    g.memory.grow(1);
    assert.equal(g.call("random_get", 0, 65_536 + 10), Errno.SUCCESS);
    assert.deepEqual(sizes, [65_536, 10]);
    assert.equal(g.bytes()[65_545], 0xab);
    host.close();
    const real = guest();
    assert.equal(real.g.call("random_get", 100, 32), Errno.SUCCESS);
    assert.ok(real.g.bytes().subarray(100, 132).some((b) => b !== 0));
    real.host.close();
    const off = guest({ random: false });
    assert.equal(off.g.call("random_get", 0, 8), Errno.NOTCAPABLE);
    assert.deepEqual(off.denials.map((d) => [d.enforcer, d.code]), [["wasi-random", "ERR_WASI_NOT_CAPABLE"]]);
    off.host.close();
  });

  test("an onDenied that throws (audit write failed) unwinds the guest and ends its I/O", () => {
    const h = makeHost([preopen(fx.jail, false)], {
      onDenied: () => { throw new AuditWriteFailed("disk full"); },
    });
    const g = new ProxyGuest(h.host, proxy);
    assert.throws(() => g.open(3, "../secret"), AuditWriteFailed);
    assert.throws(() => g.open(3, "a.txt"), AuditWriteFailed);
    h.host.close();
  });

  test("proc_exit throws WasiExit with the code", () => {
    const { host, g } = guest();
    assert.throws(() => g.call("proc_exit", 7), (e: unknown) => e instanceof WasiExit && e.code === 7);
    assert.equal(host.exitCode(), 7);
    assert.throws(() => g.call("fd_write", 1, 0, 0, 8), (e: unknown) => e instanceof WasiExit && e.code === 7);
    assert.throws(() => g.call("proc_exit", 0), (e: unknown) => e instanceof WasiExit && e.code === 7);
    assert.equal(host.exitCode(), 7);
    host.close();
  });
});

describe("descriptors", () => {
  test("maxOpenFiles: one more open is EMFILE with a denial; closing frees a slot", () => {
    const { host, denials, g } = guest({ maxOpenFiles: 2 });
    const [, a] = g.open(3, "a.txt");
    const [, b] = g.open(3, "dir", OFlags.DIRECTORY, Rights.FD_READDIR);
    assert.deepEqual([a, b], [4, 5]);
    assert.equal(g.open(3, "a.txt")[0], Errno.MFILE);
    assert.deepEqual(denials.map((d) => [d.code, d.errno, d.path]), [["ERR_WASI_TOO_MANY_FILES", Errno.MFILE, "a.txt"]]);
    assert.equal(g.call("fd_close", a), Errno.SUCCESS);
    assert.deepEqual(g.open(3, "a.txt"), [Errno.SUCCESS, 4]);
    host.close();
  });

  test("bad descriptors are EBADF with a denial, except libc's preopen scan", () => {
    const { host, denials, g } = guest();
    assert.equal(g.call("fd_read", 99, 0, 0, 8), Errno.BADF);
    assert.equal(g.call("fd_close", 99), Errno.BADF);
    assert.equal(g.call("path_open", 42, 0, ...g.put(1024, "a.txt"), 0, 2n, 0n, 0, 16), Errno.BADF);
    assert.deepEqual(denials.map((d) => d.code), ["ERR_WASI_BAD_FD", "ERR_WASI_BAD_FD", "ERR_WASI_BAD_FD"]);
    assert.equal(g.call("fd_prestat_get", 3, 64), Errno.SUCCESS);
    assert.deepEqual([g.bytes()[64], g.u32(68)], [0, 5]);
    assert.equal(g.call("fd_prestat_dir_name", 3, 128, 5), Errno.SUCCESS);
    assert.equal(g.text(128, 5), "/data");
    assert.equal(g.call("fd_prestat_get", 4, 64), Errno.BADF);
    assert.equal(g.call("fd_prestat_get", 1, 64), Errno.BADF);
    assert.equal(denials.length, 3);
    host.close();
  });

  test("fdstat reports file types and the rights actually granted", () => {
    const { host, g } = guest();
    const [, fd] = g.open(3, "a.txt", 0, Rights.FD_READ | Rights.FD_SEEK);
    const stat = (n: number): [number, bigint] => {
      assert.equal(g.call("fd_fdstat_get", n, 256), Errno.SUCCESS);
      return [g.bytes()[256] ?? -1, g.u64(264)];
    };
    assert.deepEqual(stat(fd), [4, Rights.FD_READ | Rights.FD_SEEK]);
    const [type, rights] = stat(3);
    assert.equal(type, 3);
    assert.equal(rights & Rights.PATH_CREATE_FILE, 0n); // read-only preopen
    assert.equal(rights & Rights.PATH_OPEN, Rights.PATH_OPEN);
    host.close();
  });

  test("close() releases every host fd it opened and is idempotent", () => {
    const before = openFdCount();
    const { host, g } = guest();
    g.open(3, "a.txt");
    g.open(3, "dir", OFlags.DIRECTORY, Rights.FD_READDIR);
    assert.ok(openFdCount() >= before + 3);
    host.close();
    host.close();
    assert.equal(openFdCount(), before);
    assert.equal(g.open(3, "a.txt")[0], Errno.BADF);
  });

  test("a missing or non-directory preopen root fails construction with a typed error", () => {
    assert.throws(() => makeHost([preopen(path.join(fx.base, "nope"), false)]),
      (e: unknown) => e instanceof PreopenUnavailable && e.reason === "ENOENT");
    assert.throws(() => makeHost([preopen(path.join(fx.jail, "a.txt"), false)]),
      (e: unknown) => e instanceof PreopenUnavailable && e.reason === "not a directory");
  });
});

describe("fd_readdir", () => {
  test("lists entries with types and stable cookies, continuing after a truncated buffer", () => {
    const { host, g } = guest();
    const names = new Map<string, number>();
    let cookie = 0n;
    for (let round = 0; round < 20; round++) {
      assert.equal(g.call("fd_readdir", 3, 2048, 40, cookie, 8), Errno.SUCCESS);
      const used = g.u32(8);
      const dv = new DataView(g.memory.buffer);
      let at = 2048;
      while (at + 24 <= 2048 + used) {
        const len = dv.getUint32(at + 16, true);
        if (at + 24 + len > 2048 + used) break; // truncated: ask again from this cookie
        names.set(g.text(at + 24, len), dv.getUint8(at + 20));
        cookie = dv.getBigUint64(at, true);
        at += 24 + len;
      }
      if (used < 40) break;
    }
    assert.deepEqual([...names.keys()].sort(), [".", "..", "a.txt", "dir", "link"]);
    assert.deepEqual([names.get("a.txt"), names.get("dir"), names.get("link")], [4, 3, 7]);
    const [, f] = g.open(3, "a.txt");
    assert.equal(g.call("fd_readdir", f, 2048, 40, 0n, 8), Errno.NOTDIR);
    host.close();
  });
});
