// A bounds-checked cursor over module bytes. Every failure is a ModuleMalformed carrying the
// offset where it happened: no RangeError or TypeError escapes, whatever the input.
//
// LEB128 rules (as the spec has them): an N-bit integer takes at most ceil(N/7) bytes;
// non-minimal ("padded") encodings within that length are legal and accepted — linkers emit
// them — but a longer one, or a final byte whose unused bits do not match, is rejected.
import { TextDecoder } from "node:util";
import { ModuleMalformed } from "../../errors.js";

export class ByteReader {
  pos: number;
  private decoder: TextDecoder | undefined;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  fail(reason: string, offset: number = this.pos): never {
    throw new ModuleMalformed(reason, offset);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.bytes[this.pos++] as number;
  }

  peek(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.bytes[this.pos] as number;
  }

  /** Advances past `n` bytes and returns their range. */
  skip(n: number): { start: number; end: number } {
    if (n > this.end - this.pos) this.fail("unexpected end");
    const start = this.pos;
    this.pos += n;
    return { start, end: this.pos };
  }

  u32(): number {
    return this.leb(32, false);
  }

  /** A u64 as a number (exact up to 2^53; only used for memory64 limits, which are refused). */
  u64(): number {
    return this.leb(64, false);
  }

  s32(): number {
    return this.leb(32, true);
  }

  s33(): number {
    return this.leb(33, true);
  }

  /** Checks and skips an s64 (the value itself is never needed). */
  skipS64(): void {
    this.leb(64, true);
  }

  /** A `vec` length, rejected early when even one byte per element would not fit. */
  count(): number {
    const at = this.pos;
    const n = this.u32();
    if (n > this.end - this.pos) this.fail("length out of bounds", at);
    return n;
  }

  /** The next `len` bytes as UTF-8 (a name whose length field, at `at`, was already read). */
  utf8(len: number, at: number): string {
    const { start, end } = this.skip(len);
    this.decoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    try {
      return this.decoder.decode(this.bytes.subarray(start, end));
    } catch {
      return this.fail("malformed UTF-8 name", at);
    }
  }

  private leb(bits: number, signed: boolean): number {
    const maxBytes = Math.ceil(bits / 7);
    let result = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      const at = this.pos;
      const b = this.u8();
      if (i === maxBytes - 1) {
        if ((b & 0x80) !== 0) this.fail("integer representation too long", at);
        const used = bits - 7 * i;
        const extra = b >> used;
        const expected = signed && ((b >> (used - 1)) & 1) === 1 ? 0x7f >> used : 0;
        if (extra !== expected) this.fail("integer too large", at);
      }
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (signed && (b & 0x40) !== 0) result -= scale * 128;
        return result;
      }
      scale *= 128;
    }
    return this.fail("integer representation too long");
  }
}
