// Value and reference type bytes. Encodings from proposals cordon does not support (GC and
// typed function references, exception references) are refused rather than called malformed:
// the engine may well accept them, cordon just will not load them.
import { ModuleRefused } from "../../errors.js";
import type { ByteReader } from "./byte-reader.js";
import type { RefType, ValType } from "./types.js";

export function valTypeOf(byte: number): ValType | null {
  switch (byte) {
    case 0x7f:
      return "i32";
    case 0x7e:
      return "i64";
    case 0x7d:
      return "f32";
    case 0x7c:
      return "f64";
    case 0x7b:
      return "v128";
    case 0x70:
      return "funcref";
    case 0x6f:
      return "externref";
    default:
      return null;
  }
}

/** Type constructors of the GC, typed-function-references and exception-handling proposals. */
export function isUnsupportedTypeByte(byte: number): boolean {
  return byte === 0x63 || byte === 0x64 || (byte >= 0x69 && byte <= 0x6e) || (byte >= 0x71 && byte <= 0x74);
}

export function refuseTypeByte(byte: number, offset: number): never {
  throw new ModuleRefused(
    "unsupported-feature",
    `type 0x${byte.toString(16)} (GC / typed references / exceptions) at byte ${offset}`,
  );
}

export function readValType(r: ByteReader): ValType {
  const at = r.pos;
  const byte = r.u8();
  const t = valTypeOf(byte);
  if (t !== null) return t;
  if (isUnsupportedTypeByte(byte)) refuseTypeByte(byte, at);
  return r.fail(`invalid value type 0x${byte.toString(16)}`, at);
}

export function readRefType(r: ByteReader): RefType {
  const at = r.pos;
  const byte = r.u8();
  if (byte === 0x70) return "funcref";
  if (byte === 0x6f) return "externref";
  if (isUnsupportedTypeByte(byte)) refuseTypeByte(byte, at);
  return r.fail(`invalid reference type 0x${byte.toString(16)}`, at);
}

export function valTypeByte(t: ValType): number {
  switch (t) {
    case "i32":
      return 0x7f;
    case "i64":
      return 0x7e;
    case "f32":
      return 0x7d;
    case "f64":
      return 0x7c;
    case "v128":
      return 0x7b;
    case "funcref":
      return 0x70;
    case "externref":
      return 0x6f;
  }
}
