// Rewrites one function body: fuel checks at the entry and after every `loop`, function
// indices remapped, `memory.grow` routed through the host.
//
// The fuel check (stack-neutral, no new locals):
//   global.get $fuel  i64.const COST  i64.sub  global.set $fuel
//   global.get $fuel  i64.const 0  i64.lt_s  if (empty)  call $refill  end
//
// COST — a static, deterministic count. Injection points are the function entry (after the
// local declarations) and the point just after each `loop <blocktype>`. The COST charged at a
// point is the number of original instructions from that point up to AND INCLUDING the first
// "boundary" in linear (byte) order, where a boundary is a block edge (block, loop, if, else,
// end) or a transfer of control (br, br_if, br_table, return, unreachable). Calls are ordinary
// instructions. Injected instructions are not counted. Every body ends with `end`, so COST >= 1.
// Fuel is thus a bound on entries and loop iterations weighted by their straight-line prefix:
// every call and every iteration costs at least 1, which is what makes a guest stoppable.
import { ModuleMalformed } from "../../errors.js";
import { ByteWriter } from "./byte-writer.js";
import { decodeInstructions } from "./decode-instructions.js";
import type { Instruction } from "./decode-instructions.js";
import type { Remap } from "./encode-sections.js";
import type { FunctionBody } from "./types.js";

export interface MeterIndices {
  readonly fuelGlobal: number;
  readonly refillFunc: number;
  readonly growFunc: number;
  readonly remap: Remap;
}

const OP = Object.freeze({
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  memoryGrow: 0x40,
  refFunc: 0xd2,
});

function isBoundary(op: number): boolean {
  switch (op) {
    case OP.unreachable:
    case OP.block:
    case OP.loop:
    case OP.if:
    case OP.else:
    case OP.end:
    case OP.br:
    case OP.brIf:
    case OP.brTable:
    case OP.return:
      return true;
    default:
      return false;
  }
}

function instructionsOf(bytes: Uint8Array, body: FunctionBody): Generator<Instruction, void, undefined> {
  return decodeInstructions(bytes, { start: body.codeStart, end: body.end });
}

/** The COST of each injection point, in order (entry first, then each loop). Checks nesting. */
export function fuelCosts(bytes: Uint8Array, body: FunctionBody): number[] {
  const costs: number[] = [];
  let count = 0;
  let counting = true;
  let depth = 0;
  let closed = false;
  for (const ins of instructionsOf(bytes, body)) {
    if (closed) throw new ModuleMalformed("instructions after the function's final end", ins.start);
    const op = ins.opcode;
    if (counting) {
      count++;
      if (isBoundary(op)) {
        costs.push(count);
        counting = false;
      }
    }
    if (op === OP.block || op === OP.loop || op === OP.if) depth++;
    else if (op === OP.end && depth-- === 0) closed = true;
    if (op === OP.loop) {
      counting = true;
      count = 0;
    }
  }
  if (!closed) throw new ModuleMalformed("function body is not closed by end", body.end);
  return costs;
}

function writeCharge(w: ByteWriter, cost: number, m: MeterIndices): void {
  w.byte(0x23).u32(m.fuelGlobal); // global.get
  w.byte(0x42).sleb(cost); // i64.const COST
  w.byte(0x7d); // i64.sub
  w.byte(0x24).u32(m.fuelGlobal); // global.set
  w.byte(0x23).u32(m.fuelGlobal); // global.get
  w.byte(0x42).byte(0x00); // i64.const 0
  w.byte(0x53); // i64.lt_s
  w.byte(0x04).byte(0x40); // if (empty)
  w.byte(0x10).u32(m.refillFunc); // call $refill
  w.byte(0x0b); // end
}

/** Appends the rewritten code entry (size field included) to `out`. */
export function rewriteBody(out: ByteWriter, bytes: Uint8Array, body: FunctionBody, m: MeterIndices): void {
  const costs = fuelCosts(bytes, body);
  let next = 0;
  const w = new ByteWriter(body.end - body.bodyStart + 64);
  w.range(bytes, body.bodyStart, body.codeStart); // local declarations, unchanged
  writeCharge(w, costs[next++] as number, m);
  // Unchanged instructions are copied in runs; `copied` is where the current run starts.
  let copied = body.codeStart;
  for (const ins of instructionsOf(bytes, body)) {
    switch (ins.opcode) {
      case OP.call:
      case OP.refFunc:
        w.range(bytes, copied, ins.start).byte(ins.opcode).u32(m.remap(ins.funcIndex as number));
        copied = ins.end;
        break;
      case OP.memoryGrow:
        w.range(bytes, copied, ins.start).byte(OP.call).u32(m.growFunc);
        copied = ins.end;
        break;
      case OP.loop:
        w.range(bytes, copied, ins.end);
        writeCharge(w, costs[next++] as number, m);
        copied = ins.end;
        break;
      default:
        break;
    }
  }
  w.range(bytes, copied, body.end);
  out.sized(w);
}
