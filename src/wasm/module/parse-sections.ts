// Decoders for the content of each known section. Each takes a reader bounded to the section's
// content and leaves it at the end of what it decoded (the caller checks the size matched).
// Every count goes through the parse's CapCheck where it is read, before anything is built.
import { ModuleRefused, type ModuleCapName } from "../../errors.js";
import type { ByteReader } from "./byte-reader.js";
import type { CapCheck } from "./cap-check.js";
import { readInstruction } from "./decode-instructions.js";
import type {
  ByteRange,
  DataSegment,
  ElementSegment,
  Export,
  ExternalKind,
  FuncType,
  FunctionBody,
  Global,
  GlobalType,
  Import,
  LocalGroup,
  MemoryType,
  RefType,
  TableType,
  Tag,
  ValType,
} from "./types.js";
import { readRefType, readValType } from "./value-types.js";

/** `n` items (a length already read and checked). */
function items<T>(r: ByteReader, n: number, item: (r: ByteReader) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(item(r));
  return out;
}

/**
 * A vec whose length, with `base` entries of the same index space before it (imports), must
 * stay within `cap`: checked as the length is read, before the first item is.
 */
export function vec<T>(r: ByteReader, c: CapCheck, cap: ModuleCapName, item: (r: ByteReader) => T, base = 0): T[] {
  return items(r, c.count(r, cap, base), item);
}

function valTypes(r: ByteReader, c: CapCheck, cap: "typeParams" | "typeResults"): ValType[] {
  const at = r.pos;
  const n = c.count(r, cap);
  c.add("typeValues", n, at);
  return items(r, n, readValType);
}

export function readFuncType(r: ByteReader, c: CapCheck): FuncType {
  const at = r.pos;
  const form = r.u8();
  if (form !== 0x60) {
    if (form === 0x4e || form === 0x4f || form === 0x50 || form === 0x5e || form === 0x5f) {
      throw new ModuleRefused("unsupported-feature", `GC type definition 0x${form.toString(16)} at byte ${at}`);
    }
    r.fail(`invalid function type form 0x${form.toString(16)}`, at);
  }
  return { params: valTypes(r, c, "typeParams"), results: valTypes(r, c, "typeResults") };
}

export function readTableType(r: ByteReader): TableType {
  const elemType = readRefType(r);
  const at = r.pos;
  const flags = r.u8();
  if (flags === 0x04 || flags === 0x05) throw new ModuleRefused("unsupported-feature", `table64 at byte ${at}`);
  if (flags > 0x01) r.fail(`invalid table limits flags 0x${flags.toString(16)}`, at);
  const min = r.u32();
  const max = flags === 0x01 ? r.u32() : null;
  return { elemType, min, max };
}

export function readMemoryType(r: ByteReader): MemoryType {
  const at = r.pos;
  const flags = r.u8();
  if ((flags & 0x08) !== 0 && flags < 0x10) {
    throw new ModuleRefused("unsupported-feature", `custom page sizes at byte ${at}`);
  }
  if (flags > 0x07) r.fail(`invalid memory limits flags 0x${flags.toString(16)}`, at);
  const memory64 = (flags & 0x04) !== 0;
  const read = (): number => (memory64 ? r.u64() : r.u32());
  const min = read();
  const max = (flags & 0x01) !== 0 ? read() : null;
  return { min, max, shared: (flags & 0x02) !== 0, memory64 };
}

export function readGlobalType(r: ByteReader): GlobalType {
  const valType = readValType(r);
  const at = r.pos;
  const mut = r.u8();
  if (mut > 1) r.fail("invalid global mutability", at);
  return { valType, mutable: mut === 1 };
}

/** Opcodes allowed in a constant expression (MVP, reference types, SIMD, extended-const). */
function isConstOpcode(op: number, sub: number | null): boolean {
  switch (op) {
    case 0x41: // i32.const
    case 0x42: // i64.const
    case 0x43: // f32.const
    case 0x44: // f64.const
    case 0x23: // global.get
    case 0xd0: // ref.null
    case 0xd2: // ref.func
    case 0x6a: // i32.add
    case 0x6b: // i32.sub
    case 0x6c: // i32.mul
    case 0x7c: // i64.add
    case 0x7d: // i64.sub
    case 0x7e: // i64.mul
      return true;
    case 0xfd:
      return sub === 0x0c; // v128.const
    default:
      return false;
  }
}

/** A constant expression up to and including its `end`. */
export function readConstExpr(r: ByteReader): ByteRange {
  const start = r.pos;
  for (;;) {
    const ins = readInstruction(r);
    if (ins.opcode === 0x0b) return { start, end: r.pos };
    if (!isConstOpcode(ins.opcode, ins.subOpcode)) {
      r.fail(`instruction 0x${ins.opcode.toString(16)} is not allowed in a constant expression`, ins.start);
    }
  }
}

export function readTag(r: ByteReader): Tag {
  const at = r.pos;
  if (r.u8() !== 0x00) r.fail("invalid tag attribute", at);
  return { typeIndex: r.u32() };
}

export function readImport(r: ByteReader, c: CapCheck): Import {
  const module = c.name(r);
  const name = c.name(r);
  const at = r.pos;
  const kind = r.u8();
  switch (kind) {
    case 0x00:
      return { module, name, kind: "func", typeIndex: r.u32() };
    case 0x01:
      return { module, name, kind: "table", table: readTableType(r) };
    case 0x02:
      return { module, name, kind: "memory", memory: readMemoryType(r) };
    case 0x03:
      return { module, name, kind: "global", global: readGlobalType(r) };
    case 0x04:
      return { module, name, kind: "tag", typeIndex: readTag(r).typeIndex };
    default:
      return r.fail(`invalid import kind 0x${kind.toString(16)}`, at);
  }
}

const EXPORT_KINDS: readonly ExternalKind[] = ["func", "table", "memory", "global", "tag"];

export function readExport(r: ByteReader, c: CapCheck): Export {
  const name = c.name(r);
  const at = r.pos;
  const kind = EXPORT_KINDS[r.u8()];
  if (kind === undefined) r.fail("invalid export kind", at);
  return { name, kind, index: r.u32() };
}

export function readGlobal(r: ByteReader): Global {
  const type = readGlobalType(r);
  return { type, init: readConstExpr(r) };
}

function readElemKind(r: ByteReader): RefType {
  const at = r.pos;
  if (r.u8() !== 0x00) r.fail("invalid element kind", at);
  return "funcref";
}

/** A segment's entry count: within the per-segment cap, and the module-wide one. */
function segmentLength(r: ByteReader, c: CapCheck): number {
  const at = r.pos;
  const n = c.count(r, "segmentElements");
  c.add("elements", n, at);
  return n;
}

/** All eight element segment encodings. */
export function readElement(r: ByteReader, c: CapCheck): ElementSegment {
  const funcIndices = (x: ByteReader): number[] => items(x, segmentLength(x, c), (y) => y.u32());
  const exprs = (x: ByteReader): ByteRange[] => items(x, segmentLength(x, c), readConstExpr);
  const at = r.pos;
  const flags = r.u32();
  switch (flags) {
    case 0: {
      const offset = readConstExpr(r);
      return { flags, mode: "active", tableIndex: 0, offset, elemType: "funcref", funcIndices: funcIndices(r), exprs: null };
    }
    case 1: {
      const elemType = readElemKind(r);
      return { flags, mode: "passive", tableIndex: 0, offset: null, elemType, funcIndices: funcIndices(r), exprs: null };
    }
    case 2: {
      const tableIndex = r.u32();
      const offset = readConstExpr(r);
      const elemType = readElemKind(r);
      return { flags, mode: "active", tableIndex, offset, elemType, funcIndices: funcIndices(r), exprs: null };
    }
    case 3: {
      const elemType = readElemKind(r);
      return { flags, mode: "declarative", tableIndex: 0, offset: null, elemType, funcIndices: funcIndices(r), exprs: null };
    }
    case 4: {
      const offset = readConstExpr(r);
      return { flags, mode: "active", tableIndex: 0, offset, elemType: "funcref", funcIndices: null, exprs: exprs(r) };
    }
    case 5: {
      const elemType = readRefType(r);
      return { flags, mode: "passive", tableIndex: 0, offset: null, elemType, funcIndices: null, exprs: exprs(r) };
    }
    case 6: {
      const tableIndex = r.u32();
      const offset = readConstExpr(r);
      const elemType = readRefType(r);
      return { flags, mode: "active", tableIndex, offset, elemType, funcIndices: null, exprs: exprs(r) };
    }
    case 7: {
      const elemType = readRefType(r);
      return { flags, mode: "declarative", tableIndex: 0, offset: null, elemType, funcIndices: null, exprs: exprs(r) };
    }
    default:
      return r.fail(`invalid element segment flags ${flags}`, at);
  }
}

export function readData(r: ByteReader, c: CapCheck): DataSegment {
  const at = r.pos;
  const flags = r.u32();
  if (flags > 2) r.fail(`invalid data segment flags ${flags}`, at);
  const memoryIndex = flags === 2 ? r.u32() : 0;
  const offset = flags === 1 ? null : readConstExpr(r);
  const lengthAt = r.pos;
  const length = r.u32();
  c.add("dataBytes", length, lengthAt);
  const data = r.skip(length);
  return { flags, mode: flags === 1 ? "passive" : "active", memoryIndex, offset, data };
}

/**
 * One code entry: its size and locals are checked against their caps and decoded, its
 * instructions left as a byte range (vetModule scans them for their nesting depth).
 */
export function readFunctionBody(r: ByteReader, c: CapCheck): FunctionBody {
  const start = r.pos;
  const size = r.u32();
  c.limit("bodyBytes", size, start);
  const bodyStart = r.pos;
  if (size > r.end - bodyStart) r.fail("function body out of bounds", start);
  const end = bodyStart + size;
  const groups = c.countTotal(r, "localGroups");
  const locals: LocalGroup[] = [];
  let total = 0;
  for (let i = 0; i < groups; i++) {
    const countAt = r.pos;
    const count = r.u32();
    total += count;
    // The sum is checked as each group is read, before any group is kept (or expanded).
    c.limit("functionLocals", total, countAt);
    if (total > 0xffffffff) r.fail("too many locals", countAt);
    const typeAt = r.pos;
    locals.push({ count, type: readValType(r) });
    if (r.pos > end) r.fail("function body out of bounds", typeAt);
  }
  const codeStart = r.pos;
  if (codeStart >= end || r.bytes[end - 1] !== 0x0b) r.fail("function body must end with an end opcode", end - 1);
  r.pos = end;
  return { start, bodyStart, codeStart, end, locals };
}
