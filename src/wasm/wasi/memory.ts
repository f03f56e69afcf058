// Bounds-checked access to the guest's linear memory. Every pointer the guest hands us goes
// through here; anything out of bounds throws MemoryFault, which the import guard turns into
// EFAULT. The buffer is re-read on every access because memory.grow replaces it.

import { Bound, Errno, Size } from "./constants.js";
import { MemoryFault, fail } from "./refusal.js";

export interface IoVec {
  readonly ptr: number;
  readonly len: number;
}

export class GuestMemory {
  #memory: WebAssembly.Memory | null = null;
  #buffer: ArrayBuffer | null = null;
  #view: DataView | null = null;
  #bytes: Uint8Array | null = null;

  bind(memory: WebAssembly.Memory): void {
    this.#memory = memory;
    this.#buffer = null;
  }

  #refresh(): { view: DataView; bytes: Uint8Array } {
    if (this.#memory === null) throw new MemoryFault();
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer || this.#view === null || this.#bytes === null) {
      // A shared memory would let another thread change bytes between our check and use;
      // the loader refuses shared memories, and so do we.
      if (!(buffer instanceof ArrayBuffer)) throw new MemoryFault();
      this.#buffer = buffer;
      this.#view = new DataView(buffer);
      this.#bytes = new Uint8Array(buffer);
    }
    return { view: this.#view, bytes: this.#bytes };
  }

  /** Throws MemoryFault unless [ptr, ptr+len) lies inside memory. */
  check(ptr: number, len: number): void {
    const { bytes } = this.#refresh();
    if (ptr < 0 || len < 0 || ptr + len > bytes.length) throw new MemoryFault();
  }

  /** A live view of guest bytes (valid until the next memory.grow; use it at once). */
  view(ptr: number, len: number): Uint8Array {
    this.check(ptr, len);
    return this.#refresh().bytes.subarray(ptr, ptr + len);
  }

  /** A copy of guest bytes, safe to keep. */
  copy(ptr: number, len: number): Uint8Array {
    return this.view(ptr, len).slice();
  }

  write(ptr: number, data: Uint8Array): void {
    this.view(ptr, data.length).set(data);
  }

  getU32(ptr: number): number {
    this.check(ptr, 4);
    return this.#refresh().view.getUint32(ptr, true);
  }

  setU8(ptr: number, value: number): void {
    this.check(ptr, 1);
    this.#refresh().view.setUint8(ptr, value);
  }

  setU16(ptr: number, value: number): void {
    this.check(ptr, 2);
    this.#refresh().view.setUint16(ptr, value, true);
  }

  setU32(ptr: number, value: number): void {
    this.check(ptr, 4);
    this.#refresh().view.setUint32(ptr, value >>> 0, true);
  }

  setU64(ptr: number, value: bigint): void {
    this.check(ptr, 8);
    this.#refresh().view.setBigUint64(ptr, BigInt.asUintN(64, value), true);
  }

  /**
   * Reads and bounds-checks an iovec/ciovec array and every buffer it points to, before any
   * side effect happens. More than IOV_MAX entries is EINVAL, as on Linux.
   */
  iovecs(ptr: number, count: number): IoVec[] {
    if (count > Bound.MAX_IOVS) fail(Errno.INVAL);
    this.check(ptr, count * Size.IOVEC);
    const out: IoVec[] = [];
    for (let i = 0; i < count; i++) {
      const bufPtr = this.getU32(ptr + i * Size.IOVEC);
      const bufLen = this.getU32(ptr + i * Size.IOVEC + 4);
      this.check(bufPtr, bufLen);
      out.push({ ptr: bufPtr, len: bufLen });
    }
    return out;
  }
}

/** A guest i32 argument as an unsigned 32-bit number (pointers, lengths, fds, flags). */
export function u32(value: unknown): number {
  return Number(value) >>> 0;
}

/** A guest i64 argument as an unsigned 64-bit bigint. */
export function u64(value: unknown): bigint {
  if (typeof value === "bigint") return BigInt.asUintN(64, value);
  if (typeof value === "number" && Number.isInteger(value)) return BigInt.asUintN(64, BigInt(value));
  return fail(Errno.INVAL);
}

/** A guest i64 argument as a signed 64-bit bigint. */
export function s64(value: unknown): bigint {
  return BigInt.asIntN(64, u64(value));
}
