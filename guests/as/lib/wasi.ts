// Hand-written bindings to the host functions cordon offers AssemblyScript guests.
//
// No wasi-shim: each import is declared here, and the compiler emits an import only for the
// declarations a tool actually calls. A tool therefore imports exactly what it uses, and
// cordon refuses at load any import the tool's policy does not grant (clock_time_get needs a
// clock grant, random_get a random grant, cordon.log a log grant).

@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: i32, iovs: usize, iovsLen: i32, nread: usize): i32;

@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: i32, iovs: usize, iovsLen: i32, nwritten: usize): i32;

@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: i32): void;

@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(clockId: i32, precision: u64, time: usize): i32;

@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: i32): i32;

@external("cordon", "log")
declare function cordon_log(ptr: usize, len: i32): void;

export const STDIN: i32 = 0;
export const STDOUT: i32 = 1;
export const CLOCK_REALTIME: i32 = 0;

// Static scratch space for iovecs and out-parameters: [0..8) iovec, [8..16) result.
const scratch: usize = memory.data(16, 8);

/** errno of the last failed call in this module (0 after success). */
export let lastErrno: i32 = 0;

/** Reads `fd` until EOF. Returns null (and sets lastErrno) if a read fails. */
export function readAll(fd: i32): Uint8Array | null {
  let cap: i32 = 4096;
  let buf = new Uint8Array(cap);
  let len: i32 = 0;
  while (true) {
    if (len == cap) {
      const bigger = new Uint8Array(cap << 1);
      memory.copy(bigger.dataStart, buf.dataStart, <usize>len);
      buf = bigger;
      cap <<= 1;
    }
    store<u32>(scratch, <u32>(buf.dataStart + <usize>len));
    store<u32>(scratch, <u32>(cap - len), 4);
    const err = fd_read(fd, scratch, 1, scratch + 8);
    if (err != 0) {
      lastErrno = err;
      return null;
    }
    const n = load<u32>(scratch + 8);
    if (n == 0) break;
    len += <i32>n;
  }
  lastErrno = 0;
  return buf.subarray(0, len);
}

/** Writes all `len` bytes at `ptr` to `fd`, retrying short writes. Returns 0 or an errno. */
export function writeAll(fd: i32, ptr: usize, len: i32): i32 {
  while (len > 0) {
    store<u32>(scratch, <u32>ptr);
    store<u32>(scratch, <u32>len, 4);
    const err = fd_write(fd, scratch, 1, scratch + 8);
    if (err != 0) return (lastErrno = err);
    const n = load<u32>(scratch + 8);
    if (n == 0) return (lastErrno = 29); // EIO: the host accepted nothing
    ptr += n;
    len -= <i32>n;
  }
  return 0;
}

/** Ends the process with `code`. Never returns. */
export function exit(code: i32): void {
  proc_exit(code);
  unreachable();
}

/** Sends one UTF-8 line to the host's log (needs the log grant). */
export function log(line: string): void {
  const bytes = String.UTF8.encode(line);
  cordon_log(changetype<usize>(bytes), bytes.byteLength);
}

/** Nanoseconds since the Unix epoch (needs the clock grant). Returns 0 and sets lastErrno on failure. */
export function realtimeNs(): u64 {
  const err = clock_time_get(CLOCK_REALTIME, 1, scratch + 8);
  if (err != 0) {
    lastErrno = err;
    return 0;
  }
  return load<u64>(scratch + 8);
}

/** Fills `len` bytes at `ptr` with host randomness (needs the random grant). Returns 0 or an errno. */
export function randomFill(ptr: usize, len: i32): i32 {
  const err = random_get(ptr, len);
  if (err != 0) lastErrno = err;
  return err;
}
