// A growable output buffer with the LEB128 encoders the rewriters need. Encodings are always
// minimal.
import { TextEncoder } from "node:util";

export class ByteWriter {
  private buf: Uint8Array<ArrayBuffer>;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): this {
    this.reserve(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(src: Uint8Array): this {
    this.reserve(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
    return this;
  }

  /** Copies `src[start, end)`. */
  range(src: Uint8Array, start: number, end: number): this {
    return this.bytes(src.subarray(start, end));
  }

  u32(n: number): this {
    let v = n;
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  /** A signed LEB128 of a safe integer (used for i64.const). */
  sleb(n: number): this {
    let v = n;
    for (;;) {
      const b = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const signBit = (b & 0x40) !== 0;
      if ((v === 0 && !signBit) || (v === -1 && signBit)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    let ascii = true;
    for (let i = 0; i < s.length && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
    if (!ascii) {
      const encoded = new TextEncoder().encode(s);
      return this.u32(encoded.length).bytes(encoded);
    }
    this.u32(s.length).reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
    return this;
  }

  /** Appends `content` prefixed by its length (a section or a code entry). */
  sized(content: ByteWriter | Uint8Array): this {
    const bytes = content instanceof ByteWriter ? content.finish() : content;
    return this.u32(bytes.length).bytes(bytes);
  }

  /** The bytes written so far (a view; copy before writing more if it must be kept). */
  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.subarray(0, this.length);
  }
}
