// Encoders for the section entries the rewriters re-emit. Function indices pass through
// `remap`, including those inside constant expressions (ref.func).
import { ByteReader } from "./byte-reader.js";
import { ByteWriter } from "./byte-writer.js";
import { decodeInstructions } from "./decode-instructions.js";
import type { ByteRange, ElementSegment, Export, ExternalKind, Global, MemoryType, RefType, Section, TableType } from "./types.js";
import { valTypeByte } from "./value-types.js";

export type Remap = (funcIndex: number) => number;

export function writeConstExpr(w: ByteWriter, bytes: Uint8Array, expr: ByteRange, remap: Remap): void {
  for (const ins of decodeInstructions(bytes, expr)) {
    if (ins.opcode === 0xd2 && ins.funcIndex !== null) w.byte(0xd2).u32(remap(ins.funcIndex));
    else w.range(bytes, ins.start, ins.end);
  }
}

/** Limits of a 32-bit, unshared memory or table: flags 0x00 (min) or 0x01 (min, max). */
function writeLimits(w: ByteWriter, min: number, max: number | null): void {
  if (max === null) w.byte(0x00).u32(min);
  else w.byte(0x01).u32(min).u32(max);
}

function refTypeByte(t: RefType): number {
  return t === "funcref" ? 0x70 : 0x6f;
}

export function encodeTables(tables: readonly TableType[]): Uint8Array {
  const w = new ByteWriter().u32(tables.length);
  for (const t of tables) writeLimits(w.byte(refTypeByte(t.elemType)), t.min, t.max);
  return w.finish();
}

/** Only for 32-bit unshared memories (the others are refused before anything is rewritten). */
export function encodeMemories(memories: readonly MemoryType[]): Uint8Array {
  const w = new ByteWriter().u32(memories.length);
  for (const m of memories) writeLimits(w, m.min, m.max);
  return w.finish();
}

/** The global section, with `extraCount` already-encoded globals appended. */
export function encodeGlobals(
  bytes: Uint8Array,
  globals: readonly Global[],
  remap: Remap,
  extraCount: number,
  extra: Uint8Array,
): Uint8Array {
  const w = new ByteWriter().u32(globals.length + extraCount);
  for (const g of globals) {
    w.byte(valTypeByte(g.type.valType)).byte(g.type.mutable ? 1 : 0);
    writeConstExpr(w, bytes, g.init, remap);
  }
  return w.bytes(extra).finish();
}

const KIND_BYTE: Readonly<Record<ExternalKind, number>> = { func: 0, table: 1, memory: 2, global: 3, tag: 4 };

export function encodeExports(exports: readonly Export[]): Uint8Array {
  const w = new ByteWriter().u32(exports.length);
  for (const e of exports) w.name(e.name).byte(KIND_BYTE[e.kind]).u32(e.index);
  return w.finish();
}

export function encodeElements(bytes: Uint8Array, elements: readonly ElementSegment[], remap: Remap): Uint8Array {
  const w = new ByteWriter(1024).u32(elements.length);
  for (const e of elements) {
    w.u32(e.flags);
    if (e.flags === 2 || e.flags === 6) w.u32(e.tableIndex);
    if (e.offset !== null) writeConstExpr(w, bytes, e.offset, remap);
    if (e.flags === 1 || e.flags === 2 || e.flags === 3) w.byte(0x00); // elemkind funcref
    if (e.flags === 5 || e.flags === 6 || e.flags === 7) w.byte(refTypeByte(e.elemType));
    if (e.funcIndices !== null) {
      w.u32(e.funcIndices.length);
      for (const f of e.funcIndices) w.u32(remap(f));
    } else if (e.exprs !== null) {
      w.u32(e.exprs.length);
      for (const x of e.exprs) writeConstExpr(w, bytes, x, remap);
    }
  }
  return w.finish();
}

/** Content of a vec section with `extra` entries (already encoded) appended to its own. */
export function appendToVec(bytes: Uint8Array, section: Section | undefined, extraCount: number, extra: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  if (section === undefined) return w.u32(extraCount).bytes(extra).finish();
  const r = new ByteReader(bytes, section.contentStart, section.end);
  const count = r.u32();
  return w.u32(count + extraCount).range(bytes, r.pos, section.end).bytes(extra).finish();
}
