// A small, strict JSON reader and writer for cordon's AssemblyScript guests.
//
// Reader: RFC 8259 JSON from UTF-8 bytes in linear memory. Rejects invalid UTF-8, raw control
// characters in strings, duplicate object keys, trailing data and nesting deeper than
// MAX_DEPTH. \uXXXX escapes (including surrogate pairs) become UTF-16 code units; a lone
// escaped surrogate is kept as one code unit. AssemblyScript has no exceptions, so a failed
// parse returns null and leaves a message with a byte offset in `JsonParser.error`.
//
// Writer: appends UTF-8 to a growable buffer, inserting commas itself. Lone surrogates are
// written as \uXXXX escapes so the output is always valid UTF-8.

export const MAX_DEPTH: i32 = 64;

export const enum JsonKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

export class JsonValue {
  kind: JsonKind;
  boolValue: bool = false;
  numValue: f64 = 0;
  strValue: string = "";
  /** Array elements, or object member values (parallel to `keys`). */
  items: Array<JsonValue> | null = null;
  /** Object member names. */
  keys: Array<string> | null = null;

  constructor(kind: JsonKind) {
    this.kind = kind;
  }

  /** The member named `key` of an object, or null (also for non-objects). */
  get(key: string): JsonValue | null {
    const keys = this.keys;
    const items = this.items;
    if (keys === null || items === null) return null;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] == key) return items[i];
    }
    return null;
  }

  /** The string member named `key`, or null when it is missing or not a string. */
  getString(key: string): string | null {
    const v = this.get(key);
    if (v === null || v.kind != JsonKind.String) return null;
    return v.strValue;
  }
}

const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;
const COMMA: u32 = 0x2c;
const COLON: u32 = 0x3a;
const LBRACE: u32 = 0x7b;
const RBRACE: u32 = 0x7d;
const LBRACKET: u32 = 0x5b;
const RBRACKET: u32 = 0x5d;
const MINUS: u32 = 0x2d;
const PLUS: u32 = 0x2b;
const DOT: u32 = 0x2e;
const DIGIT0: u32 = 0x30;
const DIGIT9: u32 = 0x39;
const END: i32 = -1;

function isDigit(c: i32): bool {
  return c >= <i32>DIGIT0 && c <= <i32>DIGIT9;
}

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  return -1;
}

export class JsonParser {
  /** Empty until a parse fails; then what went wrong and at which byte. */
  error: string = "";
  private start: usize;
  private pos: usize;
  private end: usize;
  private depth: i32 = 0;
  private units: Uint16Array = new Uint16Array(64);

  constructor(ptr: usize, len: usize) {
    this.start = ptr;
    this.pos = ptr;
    this.end = ptr + len;
  }

  /** Parses exactly one JSON value spanning the whole input, or returns null (see `error`). */
  parse(): JsonValue | null {
    this.skipWhitespace();
    const v = this.value();
    if (v === null) return null;
    this.skipWhitespace();
    if (this.pos != this.end) return this.fail("unexpected data after the JSON value");
    return v;
  }

  private fail(message: string): JsonValue | null {
    if (this.error.length == 0) {
      this.error = message + " at byte " + (this.pos - this.start).toString();
    }
    return null;
  }

  private peek(): i32 {
    return this.pos < this.end ? <i32>load<u8>(this.pos) : END;
  }

  private skipWhitespace(): void {
    while (this.pos < this.end) {
      const c = load<u8>(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  private value(): JsonValue | null {
    const c = this.peek();
    if (c == END) return this.fail("unexpected end of input");
    if (c == <i32>LBRACE) return this.object();
    if (c == <i32>LBRACKET) return this.array();
    if (c == <i32>QUOTE) {
      const s = this.string();
      if (s === null) return null;
      const v = new JsonValue(JsonKind.String);
      v.strValue = s;
      return v;
    }
    if (c == <i32>MINUS || isDigit(c)) return this.number();
    if (this.literal("true")) {
      const v = new JsonValue(JsonKind.Bool);
      v.boolValue = true;
      return v;
    }
    if (this.literal("false")) return new JsonValue(JsonKind.Bool);
    if (this.literal("null")) return new JsonValue(JsonKind.Null);
    return this.fail("unexpected character");
  }

  private literal(word: string): bool {
    const n = <usize>word.length;
    if (this.end - this.pos < n) return false;
    for (let i: usize = 0; i < n; i++) {
      if (<u32>load<u8>(this.pos + i) != <u32>word.charCodeAt(<i32>i)) return false;
    }
    this.pos += n;
    return true;
  }

  private enter(): bool {
    if (this.depth >= MAX_DEPTH) {
      this.fail("nesting deeper than " + MAX_DEPTH.toString());
      return false;
    }
    this.depth++;
    return true;
  }

  private object(): JsonValue | null {
    if (!this.enter()) return null;
    this.pos++; // {
    const keys = new Array<string>();
    const items = new Array<JsonValue>();
    let seen: Set<string> | null = null;
    this.skipWhitespace();
    if (this.peek() == <i32>RBRACE) {
      this.pos++;
    } else {
      while (true) {
        this.skipWhitespace();
        if (this.peek() != <i32>QUOTE) return this.fail("expected a string key");
        const keyAt = this.pos;
        const key = this.string();
        if (key === null) return null;
        // Duplicate keys are how parsers disagree about a document; refuse them.
        let duplicate = false;
        if (seen === null && keys.length < 8) {
          duplicate = keys.includes(key);
        } else {
          if (seen === null) {
            seen = new Set<string>();
            for (let i = 0; i < keys.length; i++) seen.add(keys[i]);
          }
          duplicate = seen.has(key);
          seen.add(key);
        }
        if (duplicate) {
          this.pos = keyAt;
          return this.fail("duplicate key");
        }
        this.skipWhitespace();
        if (this.peek() != <i32>COLON) return this.fail("expected ':'");
        this.pos++;
        this.skipWhitespace();
        const item = this.value();
        if (item === null) return null;
        keys.push(key);
        items.push(item);
        this.skipWhitespace();
        const c = this.peek();
        this.pos++;
        if (c == <i32>COMMA) continue;
        if (c == <i32>RBRACE) break;
        this.pos--;
        return this.fail("expected ',' or '}'");
      }
    }
    this.depth--;
    const v = new JsonValue(JsonKind.Object);
    v.keys = keys;
    v.items = items;
    return v;
  }

  private array(): JsonValue | null {
    if (!this.enter()) return null;
    this.pos++; // [
    const items = new Array<JsonValue>();
    this.skipWhitespace();
    if (this.peek() == <i32>RBRACKET) {
      this.pos++;
    } else {
      while (true) {
        this.skipWhitespace();
        const item = this.value();
        if (item === null) return null;
        items.push(item);
        this.skipWhitespace();
        const c = this.peek();
        this.pos++;
        if (c == <i32>COMMA) continue;
        if (c == <i32>RBRACKET) break;
        this.pos--;
        return this.fail("expected ',' or ']'");
      }
    }
    this.depth--;
    const v = new JsonValue(JsonKind.Array);
    v.items = items;
    return v;
  }

  private number(): JsonValue | null {
    const begin = this.pos;
    if (this.peek() == <i32>MINUS) this.pos++;
    const first = this.peek();
    if (first == <i32>DIGIT0) {
      this.pos++;
    } else if (isDigit(first)) {
      while (isDigit(this.peek())) this.pos++;
    } else {
      return this.fail("expected a digit");
    }
    if (this.peek() == <i32>DOT) {
      this.pos++;
      if (!isDigit(this.peek())) return this.fail("expected a digit after '.'");
      while (isDigit(this.peek())) this.pos++;
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == <i32>PLUS || sign == <i32>MINUS) this.pos++;
      if (!isDigit(this.peek())) return this.fail("expected a digit in the exponent");
      while (isDigit(this.peek())) this.pos++;
    }
    const v = new JsonValue(JsonKind.Number);
    v.numValue = parseFloat(String.UTF8.decodeUnsafe(begin, this.pos - begin));
    return v;
  }

  private push(unit: u32, n: i32): i32 {
    if (n == this.units.length) {
      const bigger = new Uint16Array(n << 1);
      memory.copy(bigger.dataStart, this.units.dataStart, <usize>n << 1);
      this.units = bigger;
    }
    this.units[n] = <u16>unit;
    return n + 1;
  }

  private continuation(offset: usize, lo: u32, hi: u32): i32 {
    if (this.pos + offset >= this.end) return -1;
    const b = <u32>load<u8>(this.pos + offset);
    return b >= lo && b <= hi ? <i32>(b & 0x3f) : -1;
  }

  /** Decodes the string starting at the opening quote; returns null (see `error`) on failure. */
  private string(): string | null {
    this.pos++; // opening quote
    let n: i32 = 0;
    while (true) {
      if (this.pos >= this.end) {
        this.fail("unterminated string");
        return null;
      }
      const c = <u32>load<u8>(this.pos);
      if (c == QUOTE) {
        this.pos++;
        break;
      }
      if (c == BACKSLASH) {
        if (this.pos + 1 >= this.end) {
          this.fail("unterminated string");
          return null;
        }
        const e = <u32>load<u8>(this.pos + 1);
        let unit: u32 = 0;
        if (e == QUOTE || e == BACKSLASH || e == 0x2f) unit = e;
        else if (e == 0x62) unit = 0x08; // b
        else if (e == 0x66) unit = 0x0c; // f
        else if (e == 0x6e) unit = 0x0a; // n
        else if (e == 0x72) unit = 0x0d; // r
        else if (e == 0x74) unit = 0x09; // t
        else if (e == 0x75) {
          // \uXXXX: one UTF-16 code unit; a surrogate pair is two escapes, kept as two units.
          if (this.end - this.pos < 6) {
            this.fail("truncated \\u escape");
            return null;
          }
          for (let i: usize = 2; i < 6; i++) {
            const h = hexValue(<u32>load<u8>(this.pos + i));
            if (h < 0) {
              this.fail("invalid \\u escape");
              return null;
            }
            unit = (unit << 4) | <u32>h;
          }
          this.pos += 4;
        } else {
          this.fail("invalid escape");
          return null;
        }
        n = this.push(unit, n);
        this.pos += 2;
        continue;
      }
      if (c < 0x20) {
        this.fail("control character in string");
        return null;
      }
      if (c < 0x80) {
        n = this.push(c, n);
        this.pos++;
        continue;
      }
      // Multi-byte UTF-8, validated per RFC 3629 (no overlongs, no surrogates, <= U+10FFFF).
      let cp: i32 = -1;
      let size: usize = 0;
      if (c >= 0xc2 && c <= 0xdf) {
        const b1 = this.continuation(1, 0x80, 0xbf);
        if (b1 >= 0) cp = (<i32>(c & 0x1f) << 6) | b1;
        size = 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        const lo: u32 = c == 0xe0 ? 0xa0 : 0x80;
        const hi: u32 = c == 0xed ? 0x9f : 0xbf;
        const b1 = this.continuation(1, lo, hi);
        const b2 = this.continuation(2, 0x80, 0xbf);
        if (b1 >= 0 && b2 >= 0) cp = (<i32>(c & 0x0f) << 12) | (b1 << 6) | b2;
        size = 3;
      } else if (c >= 0xf0 && c <= 0xf4) {
        const lo: u32 = c == 0xf0 ? 0x90 : 0x80;
        const hi: u32 = c == 0xf4 ? 0x8f : 0xbf;
        const b1 = this.continuation(1, lo, hi);
        const b2 = this.continuation(2, 0x80, 0xbf);
        const b3 = this.continuation(3, 0x80, 0xbf);
        if (b1 >= 0 && b2 >= 0 && b3 >= 0) cp = (<i32>(c & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3;
        size = 4;
      }
      if (cp < 0) {
        this.fail("invalid UTF-8");
        return null;
      }
      if (cp >= 0x10000) {
        const v = <u32>(cp - 0x10000);
        n = this.push(0xd800 | (v >> 10), n);
        n = this.push(0xdc00 | (v & 0x3ff), n);
      } else {
        n = this.push(<u32>cp, n);
      }
      this.pos += size;
    }
    return String.UTF16.decodeUnsafe(this.units.dataStart, <usize>n << 1);
  }
}

/** Parses `len` bytes of UTF-8 JSON at `ptr`. On failure returns null and sets `parseError`. */
export let parseError: string = "";
export function parseJson(ptr: usize, len: usize): JsonValue | null {
  const parser = new JsonParser(ptr, len);
  const v = parser.parse();
  parseError = parser.error;
  return v;
}

const HEX_DIGITS = "0123456789abcdef";

export class JsonWriter {
  private buf: Uint8Array = new Uint8Array(256);
  /** Bytes written so far. */
  length: i32 = 0;
  /** One entry per open container: whether it already holds a member. */
  private open: Array<bool> = new Array<bool>();
  private afterKey: bool = false;

  /** Address of the first output byte (valid until the next write). */
  get ptr(): usize {
    return this.buf.dataStart;
  }

  /** The output so far (a view; valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private reserve(extra: i32): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length << 1;
    while (cap < need) cap <<= 1;
    const bigger = new Uint8Array(cap);
    memory.copy(bigger.dataStart, this.buf.dataStart, <usize>this.length);
    this.buf = bigger;
  }

  private byte(b: u32): void {
    this.reserve(1);
    this.buf[this.length++] = <u8>b;
  }

  private ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    for (let i = 0; i < n; i++) this.buf[this.length++] = <u8>s.charCodeAt(i);
  }

  private beforeValue(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    const depth = this.open.length;
    if (depth == 0) return;
    if (this.open[depth - 1]) this.byte(COMMA);
    else this.open[depth - 1] = true;
  }

  beginObject(): JsonWriter {
    this.beforeValue();
    this.byte(LBRACE);
    this.open.push(false);
    return this;
  }

  endObject(): JsonWriter {
    this.open.pop();
    this.byte(RBRACE);
    return this;
  }

  beginArray(): JsonWriter {
    this.beforeValue();
    this.byte(LBRACKET);
    this.open.push(false);
    return this;
  }

  endArray(): JsonWriter {
    this.open.pop();
    this.byte(RBRACKET);
    return this;
  }

  /** Starts an object member; the next value written is its value. */
  key(name: string): JsonWriter {
    this.beforeValue();
    this.quoted(name);
    this.byte(COLON);
    this.afterKey = true;
    return this;
  }

  string(s: string): JsonWriter {
    this.beforeValue();
    this.quoted(s);
    return this;
  }

  int(n: i64): JsonWriter {
    this.beforeValue();
    this.ascii(n.toString());
    return this;
  }

  uint(n: u64): JsonWriter {
    this.beforeValue();
    this.ascii(n.toString());
    return this;
  }

  boolean(b: bool): JsonWriter {
    this.beforeValue();
    this.ascii(b ? "true" : "false");
    return this;
  }

  nil(): JsonWriter {
    this.beforeValue();
    this.ascii("null");
    return this;
  }

  private escapeUnit(unit: u32): void {
    this.byte(BACKSLASH);
    this.byte(0x75); // u
    for (let shift = 12; shift >= 0; shift -= 4) {
      this.byte(<u32>HEX_DIGITS.charCodeAt(<i32>((unit >> shift) & 0xf)));
    }
  }

  private quoted(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    this.byte(QUOTE);
    for (let i = 0; i < n; i++) {
      const c = <u32>s.charCodeAt(i);
      if (c == QUOTE || c == BACKSLASH) {
        this.byte(BACKSLASH);
        this.byte(c);
      } else if (c < 0x20) {
        if (c == 0x0a) this.ascii("\\n");
        else if (c == 0x0d) this.ascii("\\r");
        else if (c == 0x09) this.ascii("\\t");
        else if (c == 0x08) this.ascii("\\b");
        else if (c == 0x0c) this.ascii("\\f");
        else this.escapeUnit(c);
      } else if (c < 0x80) {
        this.byte(c);
      } else if (c < 0x800) {
        this.byte(0xc0 | (c >> 6));
        this.byte(0x80 | (c & 0x3f));
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? <u32>s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + (((c - 0xd800) << 10) | (next - 0xdc00));
          this.byte(0xf0 | (cp >> 18));
          this.byte(0x80 | ((cp >> 12) & 0x3f));
          this.byte(0x80 | ((cp >> 6) & 0x3f));
          this.byte(0x80 | (cp & 0x3f));
          i++;
        } else {
          this.escapeUnit(c); // a lone surrogate has no UTF-8 form
        }
      } else {
        this.byte(0xe0 | (c >> 12));
        this.byte(0x80 | ((c >> 6) & 0x3f));
        this.byte(0x80 | (c & 0x3f));
      }
    }
    this.byte(QUOTE);
  }
}
