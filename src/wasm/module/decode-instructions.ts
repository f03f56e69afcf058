// The instruction decoder: walks an expression (a function body or a constant expression) one
// instruction at a time, checking every immediate's encoding and yielding what a rewriter
// needs. It knows the MVP, sign extension, saturating truncation, bulk memory, reference types,
// multi-value block types and fixed-width SIMD; every other opcode is refused, naming it.
import { ModuleRefused } from "../../errors.js";
import { ByteReader } from "./byte-reader.js";
import { miscImmediate, simdImmediate } from "./prefixed-opcodes.js";
import type { ByteRange, ValType } from "./types.js";
import { isUnsupportedTypeByte, readValType, refuseTypeByte, valTypeOf } from "./value-types.js";

export type BlockType =
  | { readonly kind: "empty" }
  | { readonly kind: "value"; readonly valType: ValType }
  | { readonly kind: "type"; readonly typeIndex: number };

export interface Instruction {
  /** The first byte (0xFC / 0xFD for prefixed instructions). */
  readonly opcode: number;
  /** The sub-opcode after a 0xFC / 0xFD prefix, else null. */
  readonly subOpcode: number | null;
  /** Offset of the opcode byte. */
  readonly start: number;
  /** One past the last immediate byte. */
  readonly end: number;
  /** `call` and `ref.func`: the function index. */
  readonly funcIndex: number | null;
  /** `block`, `loop` and `if`: the block type. */
  readonly blockType: BlockType | null;
}

const EMPTY_BLOCK: BlockType = Object.freeze({ kind: "empty" });

function refuse(what: string, offset: number): never {
  throw new ModuleRefused("unsupported-feature", `${what} at byte ${offset}`);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

function readBlockType(r: ByteReader): BlockType {
  const at = r.pos;
  const first = r.peek();
  if (first === 0x40) {
    r.pos++;
    return EMPTY_BLOCK;
  }
  const single = valTypeOf(first);
  if (single !== null) {
    r.pos++;
    return { kind: "value", valType: single };
  }
  if (isUnsupportedTypeByte(first)) refuseTypeByte(first, at);
  const index = r.s33();
  if (index < 0) r.fail("invalid block type", at);
  return { kind: "type", typeIndex: index };
}

/** A memory index immediate: multi-memory encodes it as a u32, which must be 0 here. */
function readMemoryIndex(r: ByteReader): void {
  const at = r.pos;
  if (r.u32() !== 0) refuse("multi-memory (memory index other than 0)", at);
}

function readMemarg(r: ByteReader): void {
  const at = r.pos;
  const align = r.u32();
  if ((align & 0x40) !== 0) {
    // Multi-memory: bit 6 of the alignment field announces an explicit memory index.
    if (align >= 0x80) r.fail("invalid alignment", at);
    readMemoryIndex(r);
  }
  r.u32(); // offset
}

function readHeapType(r: ByteReader): void {
  const at = r.pos;
  const byte = r.u8();
  if (byte === 0x70 || byte === 0x6f) return;
  if (isUnsupportedTypeByte(byte) || byte < 0x40) refuse(`heap type ${hex(byte)}`, at);
  r.fail(`invalid heap type ${hex(byte)}`, at);
}

function readMisc(r: ByteReader, at: number): number {
  const sub = r.u32();
  const shape = miscImmediate(sub);
  switch (shape) {
    case null:
      return refuse(`opcode 0xfc ${sub}`, at);
    case "none":
      break;
    case "data-mem":
      r.u32();
      readMemoryIndex(r);
      break;
    case "data":
    case "elem":
    case "table":
      r.u32();
      break;
    case "mem-mem":
      readMemoryIndex(r);
      readMemoryIndex(r);
      break;
    case "mem":
      readMemoryIndex(r);
      break;
    case "elem-table":
    case "table-table":
      r.u32();
      r.u32();
      break;
  }
  return sub;
}

function readSimd(r: ByteReader, at: number): number {
  const sub = r.u32();
  const shape = simdImmediate(sub);
  switch (shape) {
    case null:
      return refuse(`opcode 0xfd ${sub}`, at);
    case "none":
      break;
    case "memarg":
      readMemarg(r);
      break;
    case "v128":
    case "shuffle":
      r.skip(16);
      break;
    case "lane":
      r.u8();
      break;
    case "memarg-lane":
      readMemarg(r);
      r.u8();
      break;
  }
  return sub;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Decodes the instruction at `r.pos` into `out` and advances past it. */
function decodeInto(r: ByteReader, out: Mutable<Instruction>): void {
  const start = r.pos;
  const op = r.u8();
  let subOpcode: number | null = null;
  let funcIndex: number | null = null;
  let blockType: BlockType | null = null;
  if (op >= 0x45 && op <= 0xc4) {
    // Numeric instructions (MVP and sign extension): no immediates. The common case first.
  } else if (op >= 0x28 && op <= 0x3e) {
    readMemarg(r);
  } else {
    switch (op) {
      case 0x00: // unreachable
      case 0x01: // nop
      case 0x05: // else
      case 0x0b: // end
      case 0x0f: // return
      case 0x1a: // drop
      case 0x1b: // select
      case 0xd1: // ref.is_null
        break;
      case 0x02: // block
      case 0x03: // loop
      case 0x04: // if
        blockType = readBlockType(r);
        break;
      case 0x0c: // br
      case 0x0d: // br_if
      case 0x20: // local.get
      case 0x21: // local.set
      case 0x22: // local.tee
      case 0x23: // global.get
      case 0x24: // global.set
      case 0x25: // table.get
      case 0x26: // table.set
        r.u32();
        break;
      case 0x0e: {
        // br_table: a vector of labels, then the default label
        const n = r.count();
        for (let i = 0; i <= n; i++) r.u32();
        break;
      }
      case 0x10: // call
      case 0xd2: // ref.func
        funcIndex = r.u32();
        break;
      case 0x11: // call_indirect: type index, table index
        r.u32();
        r.u32();
        break;
      case 0x1c: {
        // select t*
        const n = r.count();
        for (let i = 0; i < n; i++) readValType(r);
        break;
      }
      case 0x3f: // memory.size
      case 0x40: // memory.grow
        readMemoryIndex(r);
        break;
      case 0x41: // i32.const
        r.s32();
        break;
      case 0x42: // i64.const
        r.skipS64();
        break;
      case 0x43: // f32.const
        r.skip(4);
        break;
      case 0x44: // f64.const
        r.skip(8);
        break;
      case 0xd0: // ref.null
        readHeapType(r);
        break;
      case 0xfc:
        subOpcode = readMisc(r, start);
        break;
      case 0xfd:
        subOpcode = readSimd(r, start);
        break;
      case 0x06:
      case 0x07:
      case 0x08:
      case 0x09:
      case 0x0a:
      case 0x18:
      case 0x19:
      case 0x1f:
        return refuse(`exception handling (opcode ${hex(op)})`, start);
      case 0x12:
      case 0x13:
        return refuse(`tail call (opcode ${hex(op)})`, start);
      case 0x14:
      case 0x15:
      case 0xd3:
      case 0xd4:
      case 0xd5:
      case 0xd6:
        return refuse(`typed function references / GC (opcode ${hex(op)})`, start);
      case 0xfb:
        return refuse("GC (opcode 0xfb)", start);
      case 0xfe:
        return refuse("threads / atomics (opcode 0xfe)", start);
      default:
        return refuse(`unknown opcode ${hex(op)}`, start);
    }
  }
  out.opcode = op;
  out.subOpcode = subOpcode;
  out.start = start;
  out.end = r.pos;
  out.funcIndex = funcIndex;
  out.blockType = blockType;
}

/** Decodes the instruction at `r.pos` and advances past it. */
export function readInstruction(r: ByteReader): Instruction {
  const out: Mutable<Instruction> = { opcode: 0, subOpcode: null, start: 0, end: 0, funcIndex: null, blockType: null };
  decodeInto(r, out);
  return out;
}

/**
 * The allocation-free form of `decodeInstructions`, for rewriters walking large bodies: each
 * `next()` decodes one instruction into this object's own fields (overwritten by the next call).
 */
export class InstructionCursor implements Instruction {
  opcode = 0;
  subOpcode: number | null = null;
  start = 0;
  end = 0;
  funcIndex: number | null = null;
  blockType: BlockType | null = null;
  private readonly reader: ByteReader;

  constructor(bytes: Uint8Array, range: ByteRange) {
    this.reader = new ByteReader(bytes, range.start, Math.min(range.end, bytes.length));
  }

  next(): boolean {
    if (this.reader.atEnd) return false;
    decodeInto(this.reader, this);
    return true;
  }
}

/**
 * Yields each instruction in `range` of `bytes` (typically a function body from `codeStart` to
 * `end`). Throws ModuleMalformed on a truncated or mis-encoded immediate and ModuleRefused
 * ("unsupported-feature") on an opcode outside the supported set; it does not check nesting.
 */
export function* decodeInstructions(bytes: Uint8Array, range: ByteRange): Generator<Instruction, void, undefined> {
  const r = new ByteReader(bytes, range.start, Math.min(range.end, bytes.length));
  while (!r.atEnd) yield readInstruction(r);
}
