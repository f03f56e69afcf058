// Shared fixtures for the WASI tests: hostile WAT guests, a proxy guest that forwards every
// preview1 import so tests can call them with arbitrary (also hostile) arguments, and a
// throw-away directory tree with a jail and a secret outside it.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import wabt from "wabt";
import { WASI_IMPORT_SIGNATURES, WASI_MODULE } from "./catalog.js";
import { WasiExit } from "./exit.js";
import { WasiHost } from "./host.js";
import type { Preopen, WasiDenial, WasiOptions } from "./types.js";

export const SECRET = "TOP-SECRET-OUTSIDE-BYTES";

export async function compileWat(name: string, text: string): Promise<WebAssembly.Module> {
  const w = await wabt();
  const parsed = w.parseWat(name, text);
  try {
    return new WebAssembly.Module(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/** A module importing every preview1 function and exporting `w_<name>` forwarders + memory. */
export function proxyWat(): string {
  const imports: string[] = [];
  const forwarders: string[] = [];
  for (const [name, sig] of WASI_IMPORT_SIGNATURES) {
    const params = sig.params.length > 0 ? ` (param ${sig.params.join(" ")})` : "";
    const result = sig.results.length > 0 ? ` (result ${sig.results.join(" ")})` : "";
    imports.push(`  (import "${WASI_MODULE}" "${name}" (func $${name}${params}${result}))`);
    const gets = sig.params.map((_, i) => `local.get ${i}`).join(" ");
    forwarders.push(`  (func (export "w_${name}")${params}${result} ${gets} call $${name})`);
  }
  return ["(module", ...imports, ...forwarders, `  (memory (export "memory") 1)`, ")"].join("\n");
}

const READ_PATH_FROM_STDIN = `
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (local.set $e (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $e) (then (call $proc_exit (i32.add (i32.const 1000) (local.get $e)))))
    (local.set $n (i32.load (i32.const 8)))`;

const GUEST_IMPORTS = `
  (import "${WASI_MODULE}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "${WASI_MODULE}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "${WASI_MODULE}" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "${WASI_MODULE}" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)`;

/**
 * Hostile `cat`: reads a path from stdin, path_open(3, SYMLINK_FOLLOW, path, FD_READ), copies
 * the file to stdout. Exit code: 0, the path_open errno, or 1000+/2000+errno for stdin/read.
 */
export const CAT_WAT = `(module ${GUEST_IMPORTS}
  (func (export "_start") (local $n i32) (local $fd i32) (local $e i32)
    ${READ_PATH_FROM_STDIN}
    (local.set $e (call $path_open (i32.const 3) (i32.const 1) (i32.const 1024) (local.get $n)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 12)))
    (if (local.get $e) (then (call $proc_exit (local.get $e))))
    (local.set $fd (i32.load (i32.const 12)))
    (loop $copy
      (i32.store (i32.const 0) (i32.const 8192))
      (i32.store (i32.const 4) (i32.const 4096))
      (local.set $e (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (local.get $e) (then (call $proc_exit (i32.add (i32.const 2000) (local.get $e)))))
      (local.set $n (i32.load (i32.const 8)))
      (if (local.get $n) (then
        (i32.store (i32.const 4) (local.get $n))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br $copy))))
    (call $proc_exit (i32.const 0))))`;

/**
 * Hostile writer: reads a path from stdin, path_open(3, path, CREAT|TRUNC, FD_WRITE), writes
 * "PWNED". Exit code: 0, the path_open errno, or 3000+errno if the write failed.
 */
export const WRITE_WAT = `(module ${GUEST_IMPORTS}
  (data (i32.const 8192) "PWNED")
  (func (export "_start") (local $n i32) (local $e i32)
    ${READ_PATH_FROM_STDIN}
    (local.set $e (call $path_open (i32.const 3) (i32.const 1) (i32.const 1024) (local.get $n)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 12)))
    (if (local.get $e) (then (call $proc_exit (local.get $e))))
    (i32.store (i32.const 0) (i32.const 8192))
    (i32.store (i32.const 4) (i32.const 5))
    (local.set $e (call $fd_write (i32.load (i32.const 12)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $e) (then (call $proc_exit (i32.add (i32.const 3000) (local.get $e)))))
    (call $proc_exit (i32.const 0))))`;

export interface Fixture {
  readonly base: string;
  readonly jail: string;
  readonly outside: string;
  cleanup(): void;
}

/** base/jail (the preopen) and base/outside/secret.txt holding SECRET. */
export function makeFixture(): Fixture {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "cordon-wasi-")));
  const jail = path.join(base, "jail");
  const outside = path.join(base, "outside");
  fs.mkdirSync(jail);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "secret.txt"), SECRET);
  fs.writeFileSync(path.join(base, "secret"), SECRET);
  return { base, jail, outside, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

export interface Harness {
  readonly host: WasiHost;
  readonly denials: WasiDenial[];
}

export function makeHost(preopens: readonly Preopen[], over: Partial<WasiOptions> = {}): Harness {
  const denials: WasiDenial[] = [];
  const host = new WasiHost({
    args: [], env: {}, preopens, stdin: new Uint8Array(), stdoutCap: 1 << 20, stderrCap: 1 << 16,
    clock: true, random: true, maxOpenFiles: 16, onDenied: (d) => denials.push(d), ...over,
  });
  return { host, denials };
}

export function preopen(hostPath: string, writable: boolean, guestPath = "/data"): Preopen {
  return { guestPath, hostPath, writable, enforcer: "wasi-jail" };
}

/** Instantiates `module` against `host`, runs `_start`, returns the proc_exit code (-1 if none). */
export function runStart(host: WasiHost, module: WebAssembly.Module): number {
  const instance = new WebAssembly.Instance(module, { [WASI_MODULE]: host.imports() });
  host.bindMemory(instance.exports.memory as WebAssembly.Memory);
  try {
    (instance.exports._start as () => void)();
    return -1;
  } catch (e) {
    if (e instanceof WasiExit) return e.code;
    throw e;
  }
}

/** The proxy guest bound to a host, with helpers to stage arguments in its memory. */
export class ProxyGuest {
  readonly #exports: WebAssembly.Exports;
  constructor(host: WasiHost, module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, { [WASI_MODULE]: host.imports() });
    this.#exports = instance.exports;
    host.bindMemory(this.memory);
  }
  get memory(): WebAssembly.Memory {
    return this.#exports.memory as WebAssembly.Memory;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }
  call(name: string, ...args: (number | bigint)[]): number {
    return (this.#exports[`w_${name}`] as (...a: (number | bigint)[]) => number)(...args);
  }
  /** Writes `data` at `ptr`; returns [ptr, byteLength]. */
  put(ptr: number, data: string | Uint8Array): [number, number] {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    this.bytes().set(bytes, ptr);
    return [ptr, bytes.length];
  }
  u32(ptr: number): number {
    return new DataView(this.memory.buffer).getUint32(ptr, true);
  }
  u64(ptr: number): bigint {
    return new DataView(this.memory.buffer).getBigUint64(ptr, true);
  }
  text(ptr: number, len: number): string {
    return Buffer.from(this.bytes().subarray(ptr, ptr + len)).toString();
  }
  /** path_open relative to `dirFd`; returns [errno, fd]. */
  open(dirFd: number, p: string, oflags = 0, rights = 2n, fdflags = 0, inheriting = 0n): [number, number] {
    const [ptr, len] = this.put(1024, p);
    const e = this.call("path_open", dirFd, 0, ptr, len, oflags, rights, inheriting, fdflags, 16);
    return [e, e === 0 ? this.u32(16) : -1];
  }
  /** fd_read into 8192.. (up to `max` bytes); returns [errno, text]. */
  read(fd: number, max = 4096): [number, string] {
    new DataView(this.memory.buffer).setUint32(0, 8192, true);
    new DataView(this.memory.buffer).setUint32(4, max, true);
    const e = this.call("fd_read", fd, 0, 1, 8);
    return [e, e === 0 ? this.text(8192, this.u32(8)) : ""];
  }
  /** fd_write of `data` staged at 8192; returns [errno, nwritten]. */
  write(fd: number, data: string): [number, number] {
    const [ptr, len] = this.put(8192, data);
    new DataView(this.memory.buffer).setUint32(0, ptr, true);
    new DataView(this.memory.buffer).setUint32(4, len, true);
    const e = this.call("fd_write", fd, 0, 1, 8);
    return [e, e === 0 ? this.u32(8) : -1];
  }
}

/** Host fds currently open in this process (to prove close() leaks nothing). */
export function openFdCount(): number {
  return fs.readdirSync("/proc/self/fd").length;
}
