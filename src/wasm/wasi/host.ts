// WasiHost: cordon's own wasi_snapshot_preview1, one object per guest instance. It owns every
// piece of state (descriptor table, host fds, captured output, clocks); nothing lives at module
// level, so the same code runs unchanged inside a sandboxed per-session process.
//
// Every import goes through one guard: a Refusal becomes its errno (and exactly one onDenied
// event if it is a denial), an out-of-bounds pointer becomes EFAULT, a host system error becomes
// its WASI errno. Only WasiExit (proc_exit) and CordonErrors such as LimitExceeded("output")
// propagate, to unwind the guest — and once one has, every later call rethrows it, so a guest
// that catches it (Wasm exception handling) cannot carry on. Anything else is a bug here and
// propagates as well (the engine reports it as a trap).

import { webcrypto } from "node:crypto";
import { CordonError, UsageError } from "../../errors.js";
import { WASI_IMPORT_NEEDS } from "./catalog.js";
import {
  Bound, ClockId, DIR_READ_RIGHTS, DIR_WRITE_RIGHTS, Errno, INHERITABLE_RIGHTS, STDIN_RIGHTS, STDOUT_RIGHTS,
  errnoForNodeCode,
} from "./constants.js";
import { WasiExit } from "./exit.js";
import * as fdOps from "./fd-ops.js";
import { FdTable } from "./fd-table.js";
import { Jail, assertJailSupported } from "./jail.js";
import { GuestMemory, s64, u32, u64 } from "./memory.js";
import { OutputBuffer } from "./output.js";
import * as pathOps from "./path-ops.js";
import { errCode } from "./procfs.js";
import { MemoryFault, Refusal, deny, fail } from "./refusal.js";
import type { DenialReason } from "./refusal.js";
import type { HostState } from "./state.js";
import type { WasiDenial, WasiOptions } from "./types.js";
import type { EnforcerName } from "../../enforcers.js";

export type WasiFunction = (...args: unknown[]) => number | undefined;

/** Functions cordon never implements, and how each is refused. */
const REFUSED: Readonly<Record<string, readonly [enforcer: EnforcerName, code: string, errno: number]>> = {
  fd_advise: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  fd_allocate: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  fd_fdstat_set_rights: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  fd_filestat_set_times: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  fd_renumber: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  path_filestat_set_times: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  poll_oneoff: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  proc_raise: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  // Links are a jail matter: the jail never creates, reads or follows them.
  path_link: ["wasi-jail", "ERR_WASI_NOT_CAPABLE", Errno.NOTCAPABLE],
  path_symlink: ["wasi-jail", "ERR_WASI_SYMLINK", Errno.NOTCAPABLE],
  path_readlink: ["wasi-jail", "ERR_WASI_SYMLINK", Errno.NOTCAPABLE],
  sock_accept: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  sock_recv: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  sock_send: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
  sock_shutdown: ["wasi-jail", "ERR_WASI_UNSUPPORTED", Errno.NOSYS],
};

const CLOCK_RESOLUTION_NS = 1000n;

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`WasiOptions.${name} must be a non-negative integer`);
}

function nulTerminated(strings: readonly string[]): readonly Uint8Array[] {
  const enc = new TextEncoder();
  return strings.map((str) => enc.encode(`${str}\0`));
}

export class WasiHost {
  readonly #state: HostState;
  readonly #jails: readonly Jail[];
  readonly #args: readonly Uint8Array[];
  readonly #env: readonly Uint8Array[];
  readonly #clock: boolean;
  readonly #random: boolean;
  readonly #realtime: () => bigint;
  readonly #monotonicSource: () => bigint;
  readonly #randomFill: (bytes: Uint8Array) => void;
  readonly #onDenied: (d: WasiDenial) => void;
  #lastMonotonic = 0n;
  #exitCode: number | null = null;
  /** Set once proc_exit or a limit has unwound the guest; every later call rethrows it. */
  #terminal: WasiExit | CordonError | null = null;
  #imports: Record<string, WasiFunction> | null = null;

  constructor(opts: WasiOptions) {
    assertCount("stdoutCap", opts.stdoutCap);
    assertCount("stderrCap", opts.stderrCap);
    assertCount("maxOpenFiles", opts.maxOpenFiles);
    assertJailSupported();
    this.#args = nulTerminated(opts.args);
    // Only the granted record, own keys only; process.env is never consulted.
    this.#env = nulTerminated(Object.entries(opts.env).map(([k, v]) => `${k}=${v}`));
    this.#clock = opts.clock;
    this.#random = opts.random;
    this.#onDenied = opts.onDenied;
    this.#randomFill = opts.randomFill ?? ((b) => webcrypto.getRandomValues(b));
    const now = opts.now;
    if (now === undefined) {
      const originDate = BigInt(Date.now()) * 1_000_000n;
      const originHr = process.hrtime.bigint();
      this.#realtime = () => originDate + (process.hrtime.bigint() - originHr);
      this.#monotonicSource = () => process.hrtime.bigint();
    } else {
      this.#realtime = now;
      this.#monotonicSource = now;
    }

    const jails: Jail[] = [];
    try {
      for (const p of opts.preopens) jails.push(Jail.open(p));
    } catch (e) {
      for (const j of jails) j.close();
      throw e;
    }
    this.#jails = jails;

    const fds = new FdTable(opts.maxOpenFiles);
    fds.add({ kind: "stdin", rightsBase: STDIN_RIGHTS, rightsInheriting: 0n, fdflags: 0 });
    fds.add({ kind: "stdout", rightsBase: STDOUT_RIGHTS, rightsInheriting: 0n, fdflags: 0 });
    fds.add({ kind: "stderr", rightsBase: STDOUT_RIGHTS, rightsInheriting: 0n, fdflags: 0 });
    for (const jail of jails) {
      fds.add({
        kind: "dir", hostFd: jail.rootFd, jail, preopen: true, listing: null, fdflags: 0,
        rightsBase: jail.writable ? DIR_WRITE_RIGHTS : DIR_READ_RIGHTS, rightsInheriting: INHERITABLE_RIGHTS,
      });
    }
    this.#state = {
      mem: new GuestMemory(),
      fds,
      stdin: { bytes: opts.stdin.slice(), position: 0 },
      stdout: new OutputBuffer(opts.stdoutCap, false),
      stderr: new OutputBuffer(opts.stderrCap, true),
    };
  }

  /** Call after instantiation. The buffer is re-read on every access (memory can grow). */
  bindMemory(memory: WebAssembly.Memory): void {
    this.#state.mem.bind(memory);
  }

  stdout(): Uint8Array {
    return this.#state.stdout.bytes();
  }

  stderr(): Uint8Array {
    return this.#state.stderr.bytes();
  }

  /** The guest's proc_exit code, or null if it has not called proc_exit. */
  exitCode(): number | null {
    return this.#exitCode;
  }

  /** Closes every host fd this host opened (files, directories, preopen roots). Idempotent. */
  close(): void {
    this.#state.fds.clear();
    for (const jail of this.#jails) jail.close();
  }

  /** The wasi_snapshot_preview1 namespace: a prototype-less object with every preview1 name. */
  imports(): Record<string, WasiFunction> {
    this.#imports ??= this.#buildImports();
    return this.#imports;
  }

  #guard(op: string, body: () => number): number {
    // A guest that catches the unwinding exception (Wasm exception handling) gets no more I/O.
    if (this.#terminal !== null) throw this.#terminal;
    try {
      return this.#outcome(op, body);
    } catch (e) {
      // proc_exit, LimitExceeded, or a failed audit write from onDenied: all end the guest.
      if (e instanceof WasiExit || e instanceof CordonError) this.#terminal = e;
      throw e;
    }
  }

  #outcome(op: string, body: () => number): number {
    try {
      return body();
    } catch (e) {
      if (e instanceof Refusal) {
        if (e.denial !== null) this.#report(op, e.errno, e.denial);
        return e.errno;
      }
      if (e instanceof MemoryFault) return Errno.FAULT;
      const code = e instanceof CordonError || e instanceof WasiExit ? undefined : errCode(e);
      const errno = code === undefined ? null : errnoForNodeCode(code);
      if (errno !== null) return errno;
      throw e;
    }
  }

  #report(op: string, errno: number, reason: DenialReason): void {
    const { enforcer, code, path } = reason;
    const d: WasiDenial = path === undefined ? { enforcer, code, op, errno } : { enforcer, code, op, errno, path };
    this.#onDenied(Object.freeze(d));
  }

  #buildImports(): Record<string, WasiFunction> {
    const s = this.#state;
    const impl: Record<string, (...a: unknown[]) => number> = {
      args_get: (argv, buf) => this.#writeStrings(this.#args, u32(argv), u32(buf)),
      args_sizes_get: (count, size) => this.#writeSizes(this.#args, u32(count), u32(size)),
      environ_get: (env, buf) => this.#writeStrings(this.#env, u32(env), u32(buf)),
      environ_sizes_get: (count, size) => this.#writeSizes(this.#env, u32(count), u32(size)),
      clock_res_get: (id, ptr) => this.#clockRes(u32(id), u32(ptr)),
      clock_time_get: (id, _precision, ptr) => this.#clockTime(u32(id), u32(ptr)),
      random_get: (buf, len) => this.#randomGet(u32(buf), u32(len)),
      sched_yield: () => Errno.SUCCESS,
      fd_read: (fd, iovs, n, out) => fdOps.fdRead(s, u32(fd), u32(iovs), u32(n), u32(out)),
      fd_write: (fd, iovs, n, out) => fdOps.fdWrite(s, u32(fd), u32(iovs), u32(n), u32(out)),
      fd_pread: (fd, iovs, n, off, out) => fdOps.fdPread(s, u32(fd), u32(iovs), u32(n), u64(off), u32(out)),
      fd_pwrite: (fd, iovs, n, off, out) => fdOps.fdPwrite(s, u32(fd), u32(iovs), u32(n), u64(off), u32(out)),
      fd_seek: (fd, off, whence, out) => fdOps.fdSeek(s, u32(fd), s64(off), u32(whence), u32(out)),
      fd_tell: (fd, out) => fdOps.fdTell(s, u32(fd), u32(out)),
      fd_close: (fd) => fdOps.fdClose(s, u32(fd)),
      fd_fdstat_get: (fd, out) => fdOps.fdFdstatGet(s, u32(fd), u32(out)),
      fd_fdstat_set_flags: (fd, flags) => fdOps.fdFdstatSetFlags(s, u32(fd), u32(flags) & 0xffff),
      fd_filestat_get: (fd, out) => fdOps.fdFilestatGet(s, u32(fd), u32(out)),
      fd_filestat_set_size: (fd, size) => fdOps.fdFilestatSetSize(s, u32(fd), u64(size)),
      fd_prestat_get: (fd, out) => fdOps.fdPrestatGet(s, u32(fd), u32(out)),
      fd_prestat_dir_name: (fd, ptr, len) => fdOps.fdPrestatDirName(s, u32(fd), u32(ptr), u32(len)),
      fd_sync: (fd) => fdOps.fdSync(s, u32(fd), false),
      fd_datasync: (fd) => fdOps.fdSync(s, u32(fd), true),
      fd_readdir: (fd, buf, len, cookie, out) => pathOps.fdReaddir(s, u32(fd), u32(buf), u32(len), u64(cookie), u32(out)),
      path_open: (fd, dirflags, path, len, oflags, base, inh, fdflags, out) => pathOps.pathOpen(s, {
        fd: u32(fd), dirflags: u32(dirflags), pathPtr: u32(path), pathLen: u32(len), oflags: u32(oflags) & 0xffff,
        rightsBase: u64(base), rightsInheriting: u64(inh), fdflags: u32(fdflags) & 0xffff, openedFdPtr: u32(out),
      }),
      path_filestat_get: (fd, flags, path, len, out) => pathOps.pathFilestatGet(s, u32(fd), u32(flags), u32(path), u32(len), u32(out)),
      path_create_directory: (fd, path, len) => pathOps.pathMutate(s, "mkdir", u32(fd), u32(path), u32(len)),
      path_unlink_file: (fd, path, len) => pathOps.pathMutate(s, "unlink", u32(fd), u32(path), u32(len)),
      path_remove_directory: (fd, path, len) => pathOps.pathMutate(s, "rmdir", u32(fd), u32(path), u32(len)),
      path_rename: (fd, oldPath, oldLen, newFd, newPath, newLen) =>
        pathOps.pathRename(s, u32(fd), u32(oldPath), u32(oldLen), u32(newFd), u32(newPath), u32(newLen)),
    };
    for (const [name, [enforcer, code, errno]] of Object.entries(REFUSED)) impl[name] = () => deny(errno, enforcer, code);

    const out: Record<string, WasiFunction> = Object.create(null) as Record<string, WasiFunction>;
    for (const name of WASI_IMPORT_NEEDS.keys()) {
      if (name === "proc_exit") continue;
      const body = impl[name];
      if (body === undefined) throw new Error(`wasi: no implementation for ${name}`);
      out[name] = (...a: unknown[]) => this.#guard(name, () => body(...a));
    }
    out.proc_exit = (code: unknown) => {
      if (this.#terminal !== null) throw this.#terminal;
      this.#exitCode = u32(code);
      this.#terminal = new WasiExit(this.#exitCode);
      throw this.#terminal;
    };
    return Object.freeze(out);
  }

  #writeSizes(strings: readonly Uint8Array[], countPtr: number, sizePtr: number): number {
    const mem = this.#state.mem;
    mem.check(countPtr, 4);
    mem.check(sizePtr, 4);
    mem.setU32(countPtr, strings.length);
    mem.setU32(sizePtr, strings.reduce((n, b) => n + b.length, 0));
    return Errno.SUCCESS;
  }

  #writeStrings(strings: readonly Uint8Array[], ptrsPtr: number, bufPtr: number): number {
    const mem = this.#state.mem;
    mem.check(ptrsPtr, strings.length * 4);
    mem.check(bufPtr, strings.reduce((n, b) => n + b.length, 0));
    let at = bufPtr;
    strings.forEach((str, i) => {
      mem.setU32(ptrsPtr + i * 4, at);
      mem.write(at, str);
      at += str.length;
    });
    return Errno.SUCCESS;
  }

  #clockCheck(id: number): void {
    if (!this.#clock) deny(Errno.NOTCAPABLE, "wasi-clock", "ERR_WASI_NOT_CAPABLE");
    if (id === ClockId.PROCESS_CPUTIME || id === ClockId.THREAD_CPUTIME) {
      // CPU-time clocks are a sharper timing side channel and have no use in a tool.
      deny(Errno.NOTSUP, "wasi-clock", "ERR_WASI_UNSUPPORTED");
    }
    if (id !== ClockId.REALTIME && id !== ClockId.MONOTONIC) fail(Errno.INVAL);
  }

  #clockRes(id: number, ptr: number): number {
    this.#clockCheck(id);
    this.#state.mem.setU64(ptr, CLOCK_RESOLUTION_NS);
    return Errno.SUCCESS;
  }

  #clockTime(id: number, ptr: number): number {
    this.#clockCheck(id);
    this.#state.mem.check(ptr, 8);
    let t: bigint;
    if (id === ClockId.REALTIME) {
      t = this.#realtime();
    } else {
      const m = this.#monotonicSource();
      t = m > this.#lastMonotonic ? m : this.#lastMonotonic;
      this.#lastMonotonic = t;
    }
    this.#state.mem.setU64(ptr, t);
    return Errno.SUCCESS;
  }

  #randomGet(ptr: number, len: number): number {
    if (!this.#random) deny(Errno.NOTCAPABLE, "wasi-random", "ERR_WASI_NOT_CAPABLE");
    const target = this.#state.mem.view(ptr, len);
    for (let at = 0; at < len; at += Bound.RANDOM_CHUNK) {
      this.#randomFill(target.subarray(at, Math.min(len, at + Bound.RANDOM_CHUNK)));
    }
    return Errno.SUCCESS;
  }
}
